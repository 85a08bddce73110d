import type { Backend, Route, VaultRequest } from './backend.js';
import { appRoleAuth } from './approle-auth.js';
import { databaseEngine } from './database-engine.js';
import { badRequest, noContent, notFound, VaultHttpError } from './http-envelope.js';
import { hasAccessUnder } from './policies.js';
import { kubernetesAuth } from './kubernetes-auth.js';
import { kvV1Engine } from './kv-v1-engine.js';
import { kvV2Engine } from './kv-v2-engine.js';
import { pkiEngine } from './pki-engine.js';
import { sysReply } from './sys-reply.js';
import { transitEngine } from './transit-engine.js';
import type { VaultCore } from './vault-core.js';

/** Creates the backend for a secrets-engine type, or undefined when the dev server has no such plugin. */
export function createSecretsEngine(core: VaultCore, type: string, options: Record<string, string> | null, path: string): Backend | undefined {
  if ((type === 'kv' && options?.version === '2') || type === 'kv-v2') return kvV2Engine();
  if (type === 'kv') return kvV1Engine();
  if (type === 'database') return databaseEngine({ leases: core.leases, mountPath: path });
  if (type === 'transit') return transitEngine();
  if (type === 'pki') return pkiEngine({ leases: core.leases, mountPath: path });
  return undefined;
}

function createAuthMethod(core: VaultCore, type: string, path: string): Backend | undefined {
  const accessor = () => core.mounts.get(path)?.accessor ?? '';
  if (type === 'approle') return appRoleAuth(core, accessor, path);
  if (type === 'kubernetes') return kubernetesAuth(core, accessor, path);
  return undefined;
}

/** Mounts a secrets engine as `POST sys/mounts/:path` does (also used for the start-up mounts). */
export function mountSecretsEngine(core: VaultCore, rawPath: string, type: string, options: Record<string, string> | null, description = ''): void {
  const path = `${rawPath.replace(/^\/+|\/+$/g, '')}/`;
  if (/^(sys|auth|cubbyhole|identity)\//.test(path)) throw badRequest(`cannot mount "${path}" of type "${type}" as it is a reserved path`);
  const conflict = core.mounts.conflict(path);
  if (conflict) throw badRequest(`path is already in use at ${conflict}`);
  const normalizedType = type === 'kv-v2' ? 'kv' : type;
  const opts = type === 'kv-v2' ? { version: '2' } : options;
  const backend = createSecretsEngine(core, type, opts, path);
  if (!backend) throw badRequest(`plugin not found in the catalog: ${type}`);
  core.mounts.add(path, normalizedType, backend, normalizedType === 'kv' ? { version: opts?.version ?? '1' } : opts, description);
}

export function enableAuthMethod(core: VaultCore, rawPath: string, type: string, description = ''): void {
  const path = `auth/${rawPath.replace(/^\/+|\/+$/g, '')}/`;
  if (type === 'token') throw badRequest('token credential backend cannot be instantiated');
  const conflict = core.mounts.conflict(path);
  if (conflict) throw badRequest(`path is already in use at ${conflict}`);
  const backend = createAuthMethod(core, type, path);
  if (!backend) throw badRequest(`plugin not found in the catalog: ${type}`);
  core.mounts.add(path, type, backend, null, description);
}

async function unmount(core: VaultCore, path: string): Promise<void> {
  const entry = core.mounts.get(path);
  if (!entry || entry.type === 'token') return;
  await core.leases.revokePrefix(path);
  core.mounts.remove(path);
  await entry.backend.close?.();
}

const options = (req: VaultRequest): Record<string, string> | null => {
  const raw = req.fields.map('options');
  return raw ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)])) : null;
};

/** `sys/mounts`, `sys/auth` and `sys/internal/ui/mounts`. */
export function mountRoutes(core: VaultCore): Route[] {
  const table = (auth: boolean) =>
    Object.fromEntries(
      core.mounts
        .all()
        .filter((m) => m.path.startsWith('auth/') === auth)
        .map((m) => [auth ? m.path.slice('auth/'.length) : m.path, core.mounts.describe(m)]),
    );
  return [
    { pattern: /^mounts\/?$/, read: (req) => sysReply(req, { data: table(false) }) },
    {
      pattern: /^mounts\/(.+)$/,
      read: (req, m) => {
        const e = core.mounts.get(`${(m[1] ?? '').replace(/\/+$/, '')}/`);
        if (!e) throw notFound();
        return sysReply(req, { data: { default_lease_ttl: 2_764_800, force_no_cache: false, max_lease_ttl: 2_764_800 } });
      },
      update: (req, m) => {
        mountSecretsEngine(core, m[1] ?? '', req.fields.string('type'), options(req), req.fields.string('description'));
        return noContent();
      },
      delete: async (_req, m) => {
        await unmount(core, `${(m[1] ?? '').replace(/\/+$/, '')}/`);
        return noContent();
      },
    },
    { pattern: /^auth\/?$/, read: (req) => sysReply(req, { data: table(true) }) },
    {
      pattern: /^auth\/(.+)$/,
      update: (req, m) => {
        enableAuthMethod(core, m[1] ?? '', req.fields.string('type'), req.fields.string('description'));
        return noContent();
      },
      delete: async (_req, m) => {
        await unmount(core, `auth/${(m[1] ?? '').replace(/\/+$/, '')}/`);
        return noContent();
      },
    },
    {
      // Any token may ask about a mount it has some access to; others get Vault's 403 (no mount list leaks).
      pattern: /^internal\/ui\/mounts\/(.+)$/,
      aclExempt: true,
      read: (req, m) => {
        const e = core.mounts.match(m[1] ?? '');
        if (!e || !hasAccessUnder(core.policies, req.token?.policies ?? [], e.path)) {
          throw new VaultHttpError(403, [`preflight capability check returned 403, please ensure client's policies grant access to path "${m[1] ?? ''}/"`]);
        }
        return sysReply(req, { data: core.mounts.describe(e, true) });
      },
    },
  ];
}
