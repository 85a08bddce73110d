import { NAME, type Backend, type Route, type VaultRequest } from './backend.js';
import { badRequest, envelope, noContent, notFound, permissionDenied, VaultHttpError, type VaultReply } from './http-envelope.js';
import { readTokenFields, tokenFieldsData, tokenFromRole, type TokenFields } from './token-fields.js';
import type { VaultCore } from './vault-core.js';

const MOUNT_TYPE = 'kubernetes';

interface KubeRole extends TokenFields {
  names: string[];
  namespaces: string[];
  audience: string;
  aliasNameSource: string;
}

interface ServiceAccount {
  name: string;
  namespace: string;
  uid: string;
  secretName: string;
}

/**
 * Reads the service account a Kubernetes JWT claims: the legacy secret-token claims
 * (`kubernetes.io/serviceaccount/...`), the projected-token `kubernetes.io` claim, or `sub`.
 * The signature is NOT verified: the dev server stands in for a TokenReview that says yes.
 */
export function serviceAccountOf(jwt: string): ServiceAccount | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) return undefined;
  const k8s = (claims['kubernetes.io'] ?? {}) as { namespace?: string; serviceaccount?: { name?: string; uid?: string } };
  const sub = typeof claims.sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub) : null;
  const name = str(claims['kubernetes.io/serviceaccount/service-account.name']) ?? k8s.serviceaccount?.name ?? sub?.[2];
  const namespace = str(claims['kubernetes.io/serviceaccount/namespace']) ?? k8s.namespace ?? sub?.[1];
  if (!name || !namespace) return undefined;
  return {
    name,
    namespace,
    uid: str(claims['kubernetes.io/serviceaccount/service-account.uid']) ?? k8s.serviceaccount?.uid ?? '',
    secretName: str(claims['kubernetes.io/serviceaccount/secret.name']) ?? '',
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const allowed = (list: readonly string[], value: string) =>
  list.some((p) => p === '*' || p === value || (p.endsWith('*') && value.startsWith(p.slice(0, -1))));

/** The Kubernetes auth method: config, roles bound to service accounts, and login with a JWT. */
export function kubernetesAuth(core: VaultCore, mountAccessor: () => string, mountPath: string): Backend {
  let config: Record<string, unknown> | undefined;
  const roles = new Map<string, KubeRole>();
  const ok = (req: VaultRequest, fields: Partial<Parameters<typeof envelope>[0]>): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, ...fields });

  const writeRole = (req: VaultRequest, name: string): VaultReply => {
    const f = req.fields;
    const prev = roles.get(name);
    const role: KubeRole = {
      names: f.has('bound_service_account_names') ? f.commaList('bound_service_account_names') : (prev?.names ?? []),
      namespaces: f.has('bound_service_account_namespaces') ? f.commaList('bound_service_account_namespaces') : (prev?.namespaces ?? []),
      audience: f.has('audience') ? f.string('audience') : (prev?.audience ?? ''),
      aliasNameSource: f.has('alias_name_source') ? f.string('alias_name_source') : (prev?.aliasNameSource ?? 'serviceaccount_uid'),
      ...readTokenFields(f, prev),
    };
    if (role.names.length === 0) throw badRequest('"bound_service_account_names" can not be empty');
    if (role.namespaces.length === 0) throw badRequest('"bound_service_account_namespaces" can not be empty');
    roles.set(name, role);
    return noContent();
  };

  const login = (req: VaultRequest): VaultReply => {
    const roleName = req.fields.string('role');
    if (!roleName) throw badRequest('missing role');
    const jwt = req.fields.string('jwt');
    if (!jwt) throw badRequest('missing jwt');
    const role = roles.get(roleName);
    if (!role) throw badRequest(`invalid role name "${roleName}"`);
    if (!config) throw new VaultHttpError(500, ['could not load backend configuration']);
    const sa = serviceAccountOf(jwt);
    if (!sa || !allowed(role.namespaces, sa.namespace) || !allowed(role.names, sa.name)) throw permissionDenied();
    const { entry, warnings } = core.tokens.create({
      ...tokenFromRole(role),
      path: `${mountPath}login`,
      displayName: `${mountPath.replace(/^auth\//, '').replace(/\/$/, '')}-${sa.namespace}-${sa.name}`,
      meta: {
        role: roleName,
        service_account_name: sa.name,
        service_account_namespace: sa.namespace,
        service_account_secret_name: sa.secretName,
        service_account_uid: sa.uid,
      },
      entityId: core.entityFor(mountAccessor(), role.aliasNameSource === 'serviceaccount_name' ? `${sa.namespace}/${sa.name}` : sa.uid || `${sa.namespace}/${sa.name}`),
    });
    return ok(req, { auth: core.tokens.authBlock(entry), warnings });
  };

  const routes: Route[] = [
    { pattern: /^login$/, unauthenticated: true, update: login },
    {
      pattern: /^config$/,
      read: (req) => {
        if (!config) throw notFound();
        const { token_reviewer_jwt: _secret, ...visible } = config;
        return ok(req, { data: { disable_iss_validation: true, disable_local_ca_jwt: false, issuer: '', kubernetes_ca_cert: '', pem_keys: [], ...visible } });
      },
      update: (req) => {
        if (!req.fields.string('kubernetes_host')) throw badRequest('no host provided');
        config = { ...req.data };
        return noContent();
      },
    },
    {
      pattern: /^role\/?$/,
      list: (req) => {
        if (roles.size === 0) throw notFound();
        return ok(req, { data: { keys: [...roles.keys()].sort() } });
      },
    },
    {
      pattern: new RegExp(`^role/${NAME}$`),
      exists: (m) => roles.has(m[1] ?? ''),
      read: (req, m) => {
        const r = roles.get(m[1] ?? '');
        if (!r) throw notFound();
        return ok(req, {
          data: {
            alias_name_source: r.aliasNameSource,
            audience: r.audience,
            bound_service_account_names: [...r.names],
            bound_service_account_namespaces: [...r.namespaces],
            ...tokenFieldsData(r),
          },
        });
      },
      update: (req, m) => writeRole(req, m[1] ?? ''),
      delete: (_req, m) => {
        roles.delete(m[1] ?? '');
        return noContent();
      },
    },
  ];
  return { type: MOUNT_TYPE, routes };
}
