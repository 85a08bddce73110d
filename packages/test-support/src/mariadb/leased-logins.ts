import type { SecretLease } from '@keyward/core';
import { memoryProvider, type MemoryProvider } from '../memory-provider.js';

export interface Login {
  readonly username: string;
  readonly password: string;
}

export interface LeasedLogins {
  /** Serves `database`; read it through a store. */
  readonly provider: MemoryProvider;
  /** From the next read on, the provider serves `login` under a new lease; returns its version (`v2`, `v3`...). */
  serve(login: Login): string;
  /** Logins whose lease the store revoked, in order. */
  readonly revoked: Login[];
}

/**
 * A provider of database logins the way Vault's database engine hands them out: each login comes
 * with a lease, and revoking the lease runs `onRevoke` (which drops the user).
 */
export function leasedLogins(first: Login, onRevoke: (login: Login) => Promise<void>): LeasedLogins {
  const provider = memoryProvider({});
  const byLease = new Map<string, Login>();
  const revoked: Login[] = [];
  let leases = 0;
  const serve = (login: Login): string => {
    const lease: SecretLease = { id: `lease-${++leases}`, ttlMs: 10 * 60_000, renewable: false, issuedAt: new Date() };
    byLease.set(lease.id, login);
    provider.values['database'] = { ...login };
    provider.versions['database'] = `v${leases}`;
    provider.leases['database'] = lease;
    return `v${leases}`;
  };
  provider.revoke = async (lease) => {
    const login = byLease.get(lease.id);
    if (login === undefined) return;
    await onRevoke(login);
    revoked.push(login);
  };
  serve(first);
  return { provider, serve, revoked };
}
