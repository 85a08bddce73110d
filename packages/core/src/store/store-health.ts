import type { SecretEntry } from './secret-entry.js';
import type { StoreEnvironment } from './store-options.js';

/**
 * Health as a load balancer needs it: `degraded` serves stale values, `down` cannot serve a required secret.
 */
export type HealthStatus = 'ok' | 'degraded' | 'down';

/** One secret's health. Names and ages only: no value, no path. */
export interface SecretHealth {
  readonly status: HealthStatus | 'absent';
  readonly provider: string;
  readonly version?: string;
  /** Time since the provider last confirmed the value. */
  readonly ageMs?: number;
  readonly failingSince?: string;
  readonly error?: string;
  /** The current value's lease (dynamic credentials): its length and end, as last renewed. Never its id. */
  readonly lease?: { readonly ttlMs: number; readonly expiresAt: string; readonly renewable: boolean };
}

/**
 * `ok`: every secret fresh. `degraded`: some refresh is failing and the last good value is served.
 * `down`: a required secret is missing or past `maxStaleness`, or the store is closed.
 */
export interface StoreHealth {
  readonly status: HealthStatus;
  readonly checkedAt: string;
  /** The environment the store runs for; `source: 'fallback'` means none was set and `development` was taken. */
  readonly environment: StoreEnvironment;
  readonly secrets: Readonly<Record<string, SecretHealth>>;
}

export function summarizeHealth(
  entries: readonly SecretEntry[],
  state: { maxStalenessMs: number; started: boolean; closed: boolean; environment: StoreEnvironment },
  /** Called for each secret found past `maxStaleness` (the store makes sure its `stale` event went out). */
  onStale: (entry: SecretEntry) => void = () => {},
): StoreHealth {
  const now = Date.now();
  const secrets: Record<string, SecretHealth> = {};
  let status: HealthStatus = state.started && !state.closed ? 'ok' : 'down';
  for (const entry of entries) {
    let own: SecretHealth['status'];
    if (entry.absent) own = 'absent';
    else if (entry.secret === undefined) own = entry.required ? 'down' : 'absent';
    else if (entry.isStale(state.maxStalenessMs)) {
      onStale(entry);
      own = 'down';
    }
    else own = entry.failingSince === undefined ? 'ok' : 'degraded';
    if (own === 'down') status = 'down';
    else if (own === 'degraded' && status === 'ok') status = 'degraded';
    const lease = entry.secret?.lease;
    secrets[entry.name] = {
      status: own,
      provider: entry.provider.kind,
      ...(entry.secret ? { version: entry.secret.version } : {}),
      ...(entry.lastSuccessAt === undefined ? {} : { ageMs: now - entry.lastSuccessAt }),
      ...(entry.failingSince === undefined ? {} : { failingSince: new Date(entry.failingSince).toISOString() }),
      ...(entry.lastError === undefined ? {} : { error: entry.lastError.code }),
      ...(lease === undefined ? {} : { lease: { ttlMs: lease.ttlMs, expiresAt: new Date(lease.issuedAt.getTime() + lease.ttlMs).toISOString(), renewable: lease.renewable } }),
    };
  }
  return { status, checkedAt: new Date(now).toISOString(), environment: state.environment, secrets };
}
