import { badRequest, VaultHttpError } from './http-envelope.js';
import { randomBase62, rfc3339Nano } from './ids.js';
import type { SealState } from './seal-state.js';
import type { ServerTimers } from './timers.js';

/** What a secrets engine does when its lease is renewed or revoked. */
export interface LeaseHooks {
  /** Computes the new TTL (seconds) and applies it (e.g. ALTER ROLE ... VALID UNTIL). */
  renew(lease: Lease, increment: number): Promise<{ ttl: number; warnings: string[] }>;
  /** Revokes the secret (e.g. drops the database role). */
  revoke(lease: Lease): Promise<void>;
}

export interface Lease {
  /** `<mount>/creds/<role>/<24 base62>`. */
  readonly id: string;
  readonly issueTime: number;
  expireTime: number;
  lastRenewal: number | undefined;
  readonly renewable: boolean;
  /** The token that created it: revoking the token revokes the lease. */
  readonly tokenId: string | undefined;
  readonly hooks: LeaseHooks;
}

/** Vault's expiration manager for secret leases: expiry timers, renew, revoke, lookup. */
export class LeaseManager {
  private readonly leases = new Map<string, Lease>();
  private readonly timers = new Map<string, () => void>();

  constructor(
    private readonly serverTimers: ServerTimers,
    private readonly seal: SealState,
  ) {}

  /** Registers a new lease under `path` that ends after `ttl` seconds (PKI's are not renewable). */
  create(path: string, ttl: number, tokenId: string | undefined, hooks: LeaseHooks, renewable = true): Lease {
    const now = Date.now();
    const lease: Lease = {
      id: `${path}/${randomBase62(24)}`,
      issueTime: now,
      expireTime: now + ttl * 1000,
      lastRenewal: undefined,
      renewable,
      tokenId,
      hooks,
    };
    this.leases.set(lease.id, lease);
    this.schedule(lease);
    return lease;
  }

  get(id: string): Lease | undefined {
    return this.leases.get(id);
  }

  /** `sys/leases/renew`: Vault's "lease not found" / "lease expired" / max-TTL errors, else the new TTL. */
  async renew(id: string, increment: number): Promise<{ lease: Lease; ttl: number; warnings: string[] }> {
    const lease = this.leases.get(id);
    if (!lease) throw badRequest('lease not found');
    if (lease.expireTime <= Date.now()) throw badRequest('lease expired');
    if (!lease.renewable) throw badRequest('lease is not renewable');
    const { ttl, warnings } = await lease.hooks.renew(lease, increment);
    const now = Date.now();
    lease.expireTime = now + ttl * 1000;
    lease.lastRenewal = now;
    this.schedule(lease);
    return { lease, ttl, warnings };
  }

  /** Revokes one lease now (the secret is destroyed first, then the lease is forgotten). */
  async revoke(id: string): Promise<void> {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.timers.get(id)?.();
    this.timers.delete(id);
    this.leases.delete(id);
    try {
      await lease.hooks.revoke(lease);
    } catch (err) {
      throw new VaultHttpError(400, [`failed to revoke lease: lease_id=${id}: ${(err as Error).message}`]);
    }
  }

  /** Revokes every lease whose id starts with `prefix` (`sys/leases/revoke-prefix`). */
  async revokePrefix(prefix: string): Promise<void> {
    const p = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
    const ids = [...this.leases.keys()].filter((id) => id.startsWith(p) || id === prefix);
    await Promise.all(ids.map((id) => this.revoke(id)));
  }

  async revokeByToken(tokenId: string): Promise<void> {
    const ids = [...this.leases.values()].filter((l) => l.tokenId === tokenId).map((l) => l.id);
    await Promise.all(ids.map((id) => this.revoke(id).catch(() => {})));
  }

  /** Lease ids under a prefix, for LIST sys/leases/lookup/:prefix (the next path segment only). */
  list(prefix: string): string[] {
    const keys = new Set<string>();
    for (const id of this.leases.keys()) {
      if (!id.startsWith(prefix)) continue;
      const rest = id.slice(prefix.length);
      const slash = rest.indexOf('/');
      keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...keys].sort();
  }

  /** `sys/leases/lookup` data. */
  lookupData(lease: Lease): Record<string, unknown> {
    return {
      expire_time: rfc3339Nano(lease.expireTime),
      id: lease.id,
      issue_time: rfc3339Nano(lease.issueTime),
      last_renewal: lease.lastRenewal === undefined ? null : rfc3339Nano(lease.lastRenewal),
      renewable: lease.renewable && lease.expireTime > Date.now(),
      ttl: Math.max(0, Math.round((lease.expireTime - Date.now()) / 1000)),
    };
  }

  /** Forgets every lease without revoking (close() revokes nothing, like stopping a dev server). */
  clear(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.leases.clear();
  }

  private schedule(lease: Lease): void {
    this.timers.get(lease.id)?.();
    const cancel = this.serverTimers.at(lease.expireTime, () =>
      this.seal.whenUnsealed(() => {
        const current = this.leases.get(lease.id);
        if (current && current.expireTime <= Date.now()) void this.revoke(lease.id).catch(() => {});
      }),
    );
    this.timers.set(lease.id, cancel);
  }
}
