import { badRequest, type AuthBlock } from './http-envelope.js';
import { newAccessor, newServiceToken, rfc3339Nano, unixSeconds } from './ids.js';
import type { SealState } from './seal-state.js';
import type { ServerTimers } from './timers.js';
import { calculateTtl } from './ttl.js';

/** A service token, as Vault's token store keeps it. */
export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  /** The path that created it: `auth/token/create`, `auth/approle/login`, `auth/token/root`. */
  readonly path: string;
  readonly meta: Readonly<Record<string, string>> | null;
  readonly displayName: string;
  numUses: number;
  readonly parent: string | undefined;
  readonly creationTime: number;
  /** creation_ttl in seconds (0: never expires). */
  readonly ttl: number;
  readonly explicitMaxTtl: number;
  readonly period: number;
  readonly renewable: boolean;
  readonly entityId: string;
  /** The auth method's max TTL (role token_max_ttl) for renewals; 0 for the system maximum. */
  readonly backendMaxTtl: number;
  expireTime: number | undefined;
  lastRenewal: number | undefined;
}

export interface NewToken {
  readonly policies: readonly string[];
  readonly path: string;
  readonly displayName: string;
  readonly meta?: Readonly<Record<string, string>> | null;
  readonly numUses?: number;
  readonly parent?: string;
  /** Requested TTL in seconds; 0 for the backend/system default. */
  readonly ttl?: number;
  readonly backendMaxTtl?: number;
  readonly explicitMaxTtl?: number;
  readonly period?: number;
  readonly renewable?: boolean;
  readonly entityId?: string;
  readonly id?: string;
}

/** Tokens with their TTLs, parent/child links and use counts; expiry revokes (with leases). */
export class TokenStore {
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly expiryTimers = new Map<string, () => void>();

  constructor(
    private readonly timers: ServerTimers,
    private readonly seal: SealState,
    /** Revokes the leases a token created (set by the lease manager). */
    private readonly revokeLeasesOf: (tokenId: string) => Promise<void>,
  ) {}

  createRoot(id: string): TokenEntry {
    return this.store({ ...this.base({ policies: ['root'], path: 'auth/token/root', displayName: 'root', id }), ttl: 0, expireTime: undefined });
  }

  /** Creates a token; policies containing `root` never expire, others get a TTL capped at their max. */
  create(req: NewToken): { entry: TokenEntry; warnings: string[] } {
    const base = this.base(req);
    if (base.policies.includes('root') && !req.ttl && !req.period && !req.explicitMaxTtl) {
      return { entry: this.store({ ...base, ttl: 0, expireTime: undefined }), warnings: [] };
    }
    const { ttl, warnings } = calculateTtl({
      increment: 0,
      backendTtl: req.ttl ?? 0,
      backendMaxTtl: req.backendMaxTtl ?? 0,
      explicitMaxTtl: req.explicitMaxTtl ?? 0,
      period: req.period ?? 0,
    });
    const entry = this.store({ ...base, ttl, expireTime: base.creationTime + ttl * 1000 });
    return { entry, warnings };
  }

  /** A live token, or undefined (unknown, revoked or expired). */
  lookup(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    const entry = this.tokens.get(id);
    if (!entry) return undefined;
    if (entry.expireTime !== undefined && entry.expireTime <= Date.now()) {
      void this.revoke(entry.id);
      return undefined;
    }
    return entry;
  }

  byAccessor(accessor: string): TokenEntry | undefined {
    for (const e of this.tokens.values()) if (e.accessor === accessor) return this.lookup(e.id);
    return undefined;
  }

  /** Counts one use of a limited-use token; the last use revokes it once the request is done. */
  use(entry: TokenEntry): void {
    if (entry.numUses <= 0) return;
    entry.numUses -= 1;
    if (entry.numUses === 0) setImmediate(() => void this.revoke(entry.id));
  }

  /** Renews a token (renew-self / renew): Vault's CalculateTTL from creation time. */
  renew(entry: TokenEntry, increment: number): { ttl: number; warnings: string[] } {
    if (entry.expireTime === undefined) throw badRequest('lease not found');
    if (!entry.renewable) throw badRequest('lease is not renewable');
    const { ttl, warnings } = calculateTtl({
      increment,
      backendTtl: entry.ttl,
      backendMaxTtl: entry.backendMaxTtl,
      explicitMaxTtl: entry.explicitMaxTtl,
      period: entry.period,
      startMs: entry.creationTime,
    });
    const now = Date.now();
    entry.expireTime = now + ttl * 1000;
    entry.lastRenewal = now;
    this.schedule(entry);
    return { ttl, warnings };
  }

  /** Revokes a token, its child tokens and every lease they created. */
  async revoke(id: string): Promise<void> {
    const entry = this.tokens.get(id);
    if (!entry) return;
    this.tokens.delete(id);
    this.expiryTimers.get(id)?.();
    this.expiryTimers.delete(id);
    if (entry.parent) this.children.get(entry.parent)?.delete(id);
    const kids = [...(this.children.get(id) ?? [])];
    this.children.delete(id);
    await Promise.all(kids.map((k) => this.revoke(k)));
    await this.revokeLeasesOf(id);
  }

  /** Seconds left before expiry (0 for a token that never expires). */
  ttlLeft(entry: TokenEntry): number {
    return entry.expireTime === undefined ? 0 : Math.max(0, Math.round((entry.expireTime - Date.now()) / 1000));
  }

  /** The `auth` block Vault returns on login, create and renew. */
  authBlock(entry: TokenEntry, leaseDuration = this.ttlLeft(entry)): AuthBlock {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: [...entry.policies],
      token_policies: [...entry.policies],
      metadata: entry.meta ? { ...entry.meta } : null,
      lease_duration: leaseDuration,
      renewable: entry.expireTime !== undefined && entry.renewable,
      entity_id: entry.entityId,
      token_type: 'service',
      orphan: entry.parent === undefined,
      mfa_requirement: null,
      num_uses: entry.numUses,
    };
  }

  /** `auth/token/lookup-self` data, key for key as Vault's handleLookup builds it. */
  lookupData(entry: TokenEntry, withId = true): Record<string, unknown> {
    const data: Record<string, unknown> = {
      accessor: entry.accessor,
      creation_time: unixSeconds(entry.creationTime),
      creation_ttl: entry.ttl,
      display_name: entry.displayName,
      entity_id: entry.entityId,
      expire_time: null,
      explicit_max_ttl: entry.explicitMaxTtl,
      id: withId ? entry.id : '',
      meta: entry.meta ? { ...entry.meta } : null,
      num_uses: entry.numUses,
      orphan: entry.parent === undefined,
      path: entry.path,
      policies: [...entry.policies],
      ttl: 0,
      type: 'service',
    };
    if (entry.period) data.period = entry.period;
    if (entry.expireTime !== undefined) {
      if (entry.lastRenewal !== undefined) {
        data.last_renewal_time = unixSeconds(entry.lastRenewal);
        data.last_renewal = rfc3339Nano(entry.lastRenewal);
      }
      data.expire_time = rfc3339Nano(entry.expireTime);
      data.ttl = this.ttlLeft(entry);
      data.renewable = entry.renewable;
      data.issue_time = rfc3339Nano(entry.creationTime);
    }
    return data;
  }

  /** Every token id, for the server's close(). */
  clear(): void {
    this.tokens.clear();
    this.children.clear();
    this.expiryTimers.clear();
  }

  private base(req: NewToken) {
    return {
      id: req.id ?? newServiceToken(),
      accessor: newAccessor(),
      policies: [...req.policies],
      path: req.path,
      meta: req.meta && Object.keys(req.meta).length > 0 ? { ...req.meta } : null,
      displayName: req.displayName,
      numUses: req.numUses ?? 0,
      parent: req.parent,
      creationTime: Date.now(),
      explicitMaxTtl: req.explicitMaxTtl ?? 0,
      period: req.period ?? 0,
      renewable: req.renewable ?? true,
      entityId: req.entityId ?? '',
      backendMaxTtl: req.backendMaxTtl ?? 0,
      lastRenewal: undefined,
    };
  }

  private store(entry: TokenEntry): TokenEntry {
    this.tokens.set(entry.id, entry);
    if (entry.parent) {
      const set = this.children.get(entry.parent) ?? new Set<string>();
      set.add(entry.id);
      this.children.set(entry.parent, set);
    }
    this.schedule(entry);
    return entry;
  }

  private schedule(entry: TokenEntry): void {
    this.expiryTimers.get(entry.id)?.();
    if (entry.expireTime === undefined) return;
    const cancel = this.timers.at(entry.expireTime, () => this.seal.whenUnsealed(() => void this.revoke(entry.id)));
    this.expiryTimers.set(entry.id, cancel);
  }
}
