import { NAME, type Backend, type Route } from './backend.js';
import { parseGoDuration } from './durations.js';
import { badRequest, noContent, notFound } from './http-envelope.js';
import { leaseRoutes } from './leases-api.js';
import { policyRoutes } from './policy-api.js';
import { sysReply } from './sys-reply.js';
import { mountRoutes } from './sys-mounts.js';
import type { VaultCore } from './vault-core.js';

/** The system backend mounted at `sys/` (the logical part; health and seal are raw handlers). */
export function systemBackend(core: VaultCore): Backend {
  const quotas: Route = {
    pattern: new RegExp(`^quotas/rate-limit/${NAME}$`),
    read: (req, m) => {
      const q = core.quotas.get(m[1] ?? '');
      if (!q) throw notFound();
      return sysReply(req, { data: { name: q.name, path: q.path, rate: q.rate, interval: q.intervalMs / 1000, type: 'rate-limit', block_interval: 0 } });
    },
    update: (req, m) => {
      const rate = Number(req.data.rate);
      if (!(rate > 0)) throw badRequest('invalid rate: must be greater than zero');
      const rawInterval = req.fields.string('interval', '1s');
      const intervalMs = /^\d+$/.test(rawInterval) ? Number(rawInterval) * 1000 : (parseGoDuration(rawInterval) ?? 1000);
      core.quotas.set(m[1] ?? '', req.fields.string('path'), rate, intervalMs);
      return noContent();
    },
    delete: (_req, m) => {
      core.quotas.delete(m[1] ?? '');
      return noContent();
    },
  };
  return {
    type: 'system',
    routes: [...mountRoutes(core), ...leaseRoutes(core), ...policyRoutes(core), quotas],
  };
}

/** Paths that need `sudo` besides their capability (Vault's root-protected paths we serve). */
export function needsSudo(path: string): boolean {
  return /^sys\/(seal|auth\/.+|leases\/revoke-(prefix|force)\/.*|revoke-prefix\/.*|leases\/lookup\/.*|quotas\/.*)$/.test(path);
}
