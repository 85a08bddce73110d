import type { Route, VaultRequest } from './backend.js';
import { badRequest, noContent, notFound } from './http-envelope.js';
import { sysReply } from './sys-reply.js';
import type { VaultCore } from './vault-core.js';

/** `sys/leases/*` and the legacy `sys/renew`, `sys/revoke`, `sys/revoke-prefix` paths. */
export function leaseRoutes(core: VaultCore): Route[] {
  const leaseId = (req: VaultRequest, m: RegExpMatchArray): string => {
    const id = req.fields.string('lease_id') || (m[1] ?? '');
    if (!id) throw badRequest('lease_id must be specified');
    return id;
  };

  const renew = async (req: VaultRequest, m: RegExpMatchArray) => {
    const id = leaseId(req, m);
    const { lease, ttl, warnings } = await core.leases.renew(id, req.fields.seconds('increment'));
    return sysReply(req, { leaseId: lease.id, renewable: lease.renewable, leaseDuration: ttl, warnings });
  };

  const revoke = async (req: VaultRequest, m: RegExpMatchArray) => {
    await core.leases.revoke(leaseId(req, m));
    return noContent();
  };

  const revokePrefix = async (_req: VaultRequest, m: RegExpMatchArray) => {
    await core.leases.revokePrefix(m[1] ?? '');
    return noContent();
  };

  return [
    { pattern: /^(?:leases\/)?renew(?:\/(.+))?$/, update: renew },
    { pattern: /^(?:leases\/)?revoke-(?:prefix|force)\/(.+)$/, update: revokePrefix },
    { pattern: /^(?:leases\/)?revoke(?:\/(.+))?$/, update: revoke },
    {
      pattern: /^leases\/lookup$/,
      update: (req) => {
        const id = req.fields.string('lease_id');
        if (!id) throw badRequest('lease_id must be specified');
        const lease = core.leases.get(id);
        if (!lease) throw badRequest('invalid lease');
        return sysReply(req, { data: core.leases.lookupData(lease) });
      },
    },
    {
      pattern: /^leases\/lookup\/(.*)$/,
      list: (req, m) => {
        const keys = core.leases.list(m[1] ?? '');
        if (keys.length === 0) throw notFound();
        return sysReply(req, { data: { keys } });
      },
    },
  ];
}
