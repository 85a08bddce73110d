import { NAME, type Backend, type Route, type VaultRequest } from './backend.js';
import { badRequest, envelope, noContent, notFound, VaultHttpError, type VaultReply } from './http-envelope.js';
import { newUuid, rfc3339Nano } from './ids.js';
import { readTokenFields, tokenFieldsData, tokenFromRole, type TokenFields } from './token-fields.js';
import type { VaultCore } from './vault-core.js';

const MOUNT_TYPE = 'approle';
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface AppRole extends TokenFields {
  roleId: string;
  bindSecretId: boolean;
  secretIdBoundCidrs: string[];
  secretIdNumUses: number;
  secretIdTtl: number;
}

interface SecretId {
  readonly accessor: string;
  readonly metadata: Record<string, string>;
  readonly created: number;
  readonly expires: number | undefined;
  usesLeft: number;
  readonly numUses: number;
  readonly ttl: number;
}

/** The AppRole auth method: roles, role ids, secret ids and login. */
export function appRoleAuth(core: VaultCore, mountAccessor: () => string, mountPath: string): Backend {
  const roles = new Map<string, AppRole>();
  const secretIds = new Map<string, Map<string, SecretId>>();
  const ok = (req: VaultRequest, fields: Partial<Parameters<typeof envelope>[0]>): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, ...fields });
  const roleOr400 = (name: string): AppRole => {
    const role = roles.get(name.toLowerCase());
    if (!role) throw new VaultHttpError(400, [`role "${name}" does not exist`]);
    return role;
  };

  const writeRole = (req: VaultRequest, name: string): VaultReply => {
    const f = req.fields;
    const prev = roles.get(name.toLowerCase());
    const pick = <T>(key: string, read: () => T, fallback: T): T => (f.has(key) ? read() : fallback);
    const role: AppRole = {
      roleId: prev?.roleId ?? newUuid(),
      bindSecretId: pick('bind_secret_id', () => f.bool('bind_secret_id', true), prev?.bindSecretId ?? true),
      secretIdBoundCidrs: pick('secret_id_bound_cidrs', () => f.commaList('secret_id_bound_cidrs'), prev?.secretIdBoundCidrs ?? []),
      secretIdNumUses: pick('secret_id_num_uses', () => f.int('secret_id_num_uses'), prev?.secretIdNumUses ?? 0),
      secretIdTtl: pick('secret_id_ttl', () => f.seconds('secret_id_ttl'), prev?.secretIdTtl ?? 0),
      ...readTokenFields(f, prev),
    };
    if (!role.bindSecretId && role.secretIdBoundCidrs.length === 0 && role.tokenBoundCidrs.length === 0) {
      throw badRequest('at least one constraint should be enabled on the role');
    }
    if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) throw badRequest('"token_ttl" value must be less than "token_max_ttl" value');
    roles.set(name.toLowerCase(), role);
    return noContent();
  };

  const readRole = (req: VaultRequest, name: string): VaultReply => {
    const r = roles.get(name.toLowerCase());
    if (!r) throw notFound();
    return ok(req, {
      data: {
        bind_secret_id: r.bindSecretId,
        local_secret_ids: false,
        period: r.tokenPeriod,
        policies: [...r.tokenPolicies],
        secret_id_bound_cidrs: [...r.secretIdBoundCidrs],
        secret_id_num_uses: r.secretIdNumUses,
        secret_id_ttl: r.secretIdTtl,
        ...tokenFieldsData(r),
      },
    });
  };

  const issueSecretId = (req: VaultRequest, name: string, custom: string | undefined): VaultReply => {
    const role = roleOr400(name);
    const f = req.fields;
    const numUses = f.has('num_uses') ? f.int('num_uses') : role.secretIdNumUses;
    if (numUses < 0) throw badRequest('num_uses cannot be negative');
    if (role.secretIdNumUses > 0 && (numUses === 0 || numUses > role.secretIdNumUses)) throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
    const ttl = f.has('ttl') ? f.seconds('ttl') : role.secretIdTtl;
    if (role.secretIdTtl > 0 && (ttl === 0 || ttl > role.secretIdTtl)) throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
    let metadata: Record<string, string> = {};
    if (f.string('metadata')) {
      try {
        metadata = JSON.parse(f.string('metadata')) as Record<string, string>;
      } catch {
        throw badRequest('failed to parse metadata: invalid JSON');
      }
    }
    const secretId = custom ?? newUuid();
    const now = Date.now();
    const entry: SecretId = { accessor: newUuid(), metadata, created: now, expires: ttl > 0 ? now + ttl * 1000 : undefined, usesLeft: numUses, numUses, ttl };
    const bucket = secretIds.get(name.toLowerCase()) ?? new Map<string, SecretId>();
    bucket.set(secretId, entry);
    secretIds.set(name.toLowerCase(), bucket);
    return ok(req, { data: { secret_id: secretId, secret_id_accessor: entry.accessor, secret_id_num_uses: numUses, secret_id_ttl: ttl } });
  };

  const secretIdInfo = (s: SecretId): Record<string, unknown> => ({
    cidr_list: [],
    creation_time: rfc3339Nano(s.created),
    expiration_time: s.expires === undefined ? ZERO_TIME : rfc3339Nano(s.expires),
    last_updated_time: rfc3339Nano(s.created),
    metadata: { ...s.metadata },
    secret_id_accessor: s.accessor,
    secret_id_num_uses: s.usesLeft,
    secret_id_ttl: s.ttl,
    token_bound_cidrs: [],
  });

  const findSecret = (name: string, by: 'id' | 'accessor', value: string): [string, SecretId] | undefined => {
    for (const [id, s] of secretIds.get(name.toLowerCase()) ?? []) if ((by === 'id' ? id : s.accessor) === value) return [id, s];
    return undefined;
  };

  const login = (req: VaultRequest): VaultReply => {
    const roleId = req.fields.string('role_id').trim();
    if (!roleId) throw new VaultHttpError(500, ['missing role_id']);
    const found = [...roles.entries()].find(([, r]) => r.roleId === roleId);
    const invalid = () => badRequest('invalid role or secret ID');
    if (!found) throw invalid();
    const [roleName, role] = found;
    const secret = req.fields.string('secret_id').trim();
    let metadata: Record<string, string> = {};
    if (role.bindSecretId) {
      if (!secret) throw badRequest('missing secret_id');
      const bucket = secretIds.get(roleName);
      const s = bucket?.get(secret);
      if (!s || (s.expires !== undefined && s.expires <= Date.now())) throw invalid();
      if (s.numUses > 0) {
        s.usesLeft -= 1;
        if (s.usesLeft <= 0) bucket!.delete(secret);
      }
      metadata = { ...s.metadata };
    }
    const { entry, warnings } = core.tokens.create({
      ...tokenFromRole(role),
      path: `${mountPath}login`,
      displayName: mountPath.replace(/^auth\//, '').replace(/\/$/, '').replace(/\//g, '-'),
      meta: { ...metadata, role_name: roleName },
      entityId: core.entityFor(mountAccessor(), role.roleId),
    });
    return ok(req, { auth: core.tokens.authBlock(entry), warnings });
  };

  const role = (m: RegExpMatchArray) => m[1] ?? '';
  const routes: Route[] = [
    { pattern: /^login$/, unauthenticated: true, update: login },
    {
      pattern: /^role\/?$/,
      list: (req) => {
        if (roles.size === 0) throw notFound();
        return ok(req, { data: { keys: [...roles.keys()].sort() } });
      },
    },
    {
      pattern: new RegExp(`^role/${NAME}$`),
      exists: (m) => roles.has(role(m).toLowerCase()),
      read: (req, m) => readRole(req, role(m)),
      update: (req, m) => writeRole(req, role(m)),
      delete: (_req, m) => {
        roles.delete(role(m).toLowerCase());
        secretIds.delete(role(m).toLowerCase());
        return noContent();
      },
    },
    {
      pattern: new RegExp(`^role/${NAME}/role-id$`),
      read: (req, m) => {
        const r = roles.get(role(m).toLowerCase());
        if (!r) throw notFound();
        return ok(req, { data: { role_id: r.roleId } });
      },
      update: (req, m) => {
        const r = roleOr400(role(m));
        const id = req.fields.string('role_id');
        if (!id) throw badRequest('missing role_id');
        r.roleId = id;
        return noContent();
      },
    },
    {
      pattern: new RegExp(`^role/${NAME}/secret-id/?$`),
      update: (req, m) => issueSecretId(req, role(m), undefined),
      list: (req, m) => {
        roleOr400(role(m));
        const keys = [...(secretIds.get(role(m).toLowerCase())?.values() ?? [])].map((s) => s.accessor).sort();
        if (keys.length === 0) throw notFound();
        return ok(req, { data: { keys } });
      },
    },
    { pattern: new RegExp(`^role/${NAME}/custom-secret-id$`), update: (req, m) => issueSecretId(req, role(m), req.fields.string('secret_id') || undefined) },
    ...(['secret-id', 'secret-id-accessor'] as const).flatMap((kind): Route[] => {
      const by = kind === 'secret-id' ? ('id' as const) : ('accessor' as const);
      const field = kind === 'secret-id' ? 'secret_id' : 'secret_id_accessor';
      return [
        {
          pattern: new RegExp(`^role/${NAME}/${kind}/lookup$`),
          update: (req, m) => {
            roleOr400(role(m));
            const hit = findSecret(role(m), by, req.fields.string(field));
            return hit ? ok(req, { data: secretIdInfo(hit[1]) }) : noContent();
          },
        },
        {
          pattern: new RegExp(`^role/${NAME}/${kind}/destroy$`),
          update: (req, m) => {
            const hit = findSecret(role(m), by, req.fields.string(field));
            if (hit) secretIds.get(role(m).toLowerCase())?.delete(hit[0]);
            return noContent();
          },
        },
      ];
    }),
  ];
  return { type: MOUNT_TYPE, routes };
}
