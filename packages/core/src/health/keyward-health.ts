import type { AuditHealth, AuditTrail } from '../audit/audit-trail.js';
import type { GenerationStats, PoolStats } from '../pool/credential-pool.js';
import type { SecretStore } from '../store/secret-store.js';
import type { HealthStatus, SecretHealth } from '../store/store-health.js';
import type { TlsHealth } from '../tls/tls-from-secret.js';
import type { StoreEnvironment } from '../store/store-options.js';

/** What `keywardHealthReport` looks at. Only `store` is required. */
export interface KeywardHealthSources {
  readonly store: Pick<SecretStore, 'health'>;
  /** The audit trail whose delivery state is reported under `checks.audit`. */
  readonly audit?: Pick<AuditTrail, 'health'>;
  /**
   * The service's routes are fail-closed (`auditRequests({ failClosed: true })` or Nest's
   * `audit.failClosed`): a failing trail then makes the service `down` instead of `degraded`,
   * so that a load balancer sends traffic elsewhere. Default `false`.
   */
  readonly failClosed?: boolean;
  /** Credential pools by a name of your choice (a `CredentialPool`, `KeywardPgPool`, the mysql2 pool: anything with `stats()`). */
  readonly pools?: Readonly<Record<string, { stats(): PoolStats }>>;
  /** Certificates served from secrets (`tlsFromSecret`), by a name of your choice. */
  readonly tls?: Readonly<Record<string, { health(): TlsHealth }>>;
}

/** The store's part: its environment and each declared secret's health (names, providers, versions, ages; never a value or a path). */
export interface StoreCheck {
  readonly status: HealthStatus;
  /** The environment the store runs for; `source: 'fallback'` means none was set and `development` was taken. */
  readonly environment: StoreEnvironment;
  readonly secrets: Readonly<Record<string, SecretHealth>>;
}

/** The audit trail's part: `delivery` is the trail's own state, `status` what it means for the service. */
export interface AuditCheck extends Omit<AuditHealth, 'status'> {
  readonly status: HealthStatus;
  readonly delivery: AuditHealth['status'];
}

/** One credential pool's part: its connections, and the generation new checkouts go to (`active`). */
export interface PoolCheck {
  readonly status: HealthStatus;
  /** The id of the generation new checkouts go to; absent when the pool has none (ending or ended). */
  readonly active?: number;
  readonly total: number;
  readonly idle: number;
  readonly busy: number;
  readonly waiting: number;
  readonly generations: readonly GenerationStats[];
}

export interface KeywardHealthReport {
  /** The worst of the parts' statuses. */
  readonly status: HealthStatus;
  readonly checkedAt: string;
  readonly checks: {
    readonly store: StoreCheck;
    readonly audit?: AuditCheck;
    readonly pools?: Readonly<Record<string, PoolCheck>>;
    readonly tls?: Readonly<Record<string, TlsHealth>>;
  };
}

const RANK: Readonly<Record<HealthStatus, number>> = { ok: 0, degraded: 1, down: 2 };

/**
 * The health of the secret store, the audit trail and credential pools in one report, for a
 * health endpoint (`keywardHealth` in `@keyward/express`, `KeywardHealthIndicator` in
 * `@keyward/nestjs/terminus`). Names, versions, ages and counts only: never a value or a path.
 *
 * The status is the worst of the parts:
 * - store: its own status (`degraded` while a refresh fails and the last good value is served,
 *   `down` when a required secret is missing or past `maxStaleness`, or the store is closed);
 * - audit trail: `ok` while it writes; `failing` or `closed` is `degraded`, or `down` with
 *   `failClosed` (fail-closed routes refuse every request meanwhile);
 * - pool: `down` when it has no active generation (it is ending or has ended), so no checkout can be
 *   served; otherwise `ok` (a busy pool with waiting checkouts is still working);
 * - certificate (`tlsFromSecret`): `degraded` while the secret's newest certificate is refused or
 *   the served one has less than a tenth of its life left, `down` once it has expired.
 *
 * @example
 * const report = keywardHealthReport({ store, audit: trail, pools: { database: pgPool } });
 * // { status: 'ok', checkedAt, checks: { store: { status, environment, secrets }, audit: { status, delivery, written, ... }, pools: { database: { status, active, ... } } } }
 * res.status(report.status === 'down' ? 503 : 200).json(report);
 */
export function keywardHealthReport(sources: KeywardHealthSources): KeywardHealthReport {
  const { status: storeStatus, checkedAt, environment, secrets } = sources.store.health();
  const store: StoreCheck = { status: storeStatus, environment, secrets };
  const audit = sources.audit === undefined ? undefined : auditCheck(sources.audit.health(), sources.failClosed === true);
  const pools = sources.pools === undefined ? undefined : Object.fromEntries(Object.entries(sources.pools).map(([name, pool]) => [name, poolCheck(pool.stats())]));
  const tls = sources.tls === undefined ? undefined : Object.fromEntries(Object.entries(sources.tls).map(([name, cert]) => [name, cert.health()]));
  const parts = [store.status, ...(audit === undefined ? [] : [audit.status]), ...[...Object.values(pools ?? {}), ...Object.values(tls ?? {})].map((p) => p.status)];
  return {
    status: parts.reduce((worst, s) => (RANK[s] > RANK[worst] ? s : worst), 'ok'),
    checkedAt,
    checks: { store, ...(audit === undefined ? {} : { audit }), ...(pools === undefined ? {} : { pools }), ...(tls === undefined ? {} : { tls }) },
  };
}

function auditCheck(health: AuditHealth, failClosed: boolean): AuditCheck {
  const { status: delivery, ...counts } = health;
  const status: HealthStatus = delivery === 'ok' ? 'ok' : failClosed ? 'down' : 'degraded';
  return { status, delivery, ...counts };
}

function poolCheck(stats: PoolStats): PoolCheck {
  const active = stats.generations.find((g) => g.state === 'active');
  return {
    status: active === undefined ? 'down' : 'ok',
    ...(active === undefined ? {} : { active: active.id }),
    total: stats.total,
    idle: stats.idle,
    busy: stats.busy,
    waiting: stats.waiting,
    // Only these fields: an adapter's stats may carry more (mysql2's thread ids) than a health answer needs.
    generations: stats.generations.map(({ id, version, state, idle, busy, opening }) => ({ id, version, state, idle, busy, opening })),
  };
}
