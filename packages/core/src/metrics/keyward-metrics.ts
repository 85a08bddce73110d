import { metrics, type Attributes, type BatchObservableCallback, type Meter, type Observable } from '@opentelemetry/api';
import type { ApiKeyResult, ApiKeyVerifier } from '../api-keys/api-key-verifier.js';
import type { AuditFailureCode, AuditTrail } from '../audit/audit-trail.js';
import type { CredentialPoolEvents, PoolStats } from '../pool/credential-pool.js';
import type { SecretStore } from '../store/secret-store.js';
import type { LeaseEvent, SecretRefreshedEvent, SecretRefreshFailedEvent } from '../store/store-events.js';
import type { TlsFromSecret, TlsFromSecretEvents } from '../tls/tls-from-secret.js';

/**
 * A pool `keywardMetrics` reads: `stats()` for its connections, and its `generation` and
 * `authRetry` events (`CredentialPool`, `KeywardPgPool` and the mysql2 `MysqlPool` all have them).
 */
export interface MeteredPool {
  stats(): PoolStats;
  on(event: 'generation', listener: (event: CredentialPoolEvents['generation'][0]) => void): unknown;
  on(event: 'authRetry', listener: (event: CredentialPoolEvents['authRetry'][0]) => void): unknown;
  off(event: 'generation', listener: (event: CredentialPoolEvents['generation'][0]) => void): unknown;
  off(event: 'authRetry', listener: (event: CredentialPoolEvents['authRetry'][0]) => void): unknown;
}

/** What `keywardMetrics` reports on; every part is optional. */
export interface KeywardMetricsSources {
  /** Secrets' ages, refreshes, staleness and leases. */
  readonly store?: Pick<SecretStore, 'health' | 'on' | 'off'>;
  /** Credential pools by a name of your choice (the `db.client.connection.pool.name` attribute). */
  readonly pools?: Readonly<Record<string, MeteredPool>>;
  /** API key checks by result, and uses of previous keys in their grace. */
  readonly apiKeys?: Pick<ApiKeyVerifier, 'stats' | 'usage'>;
  /** The audit trail's records, backlog and losses. */
  readonly audit?: Pick<AuditTrail, 'health'>;
  /** Certificates served from secrets (`tlsFromSecret`) by a name of your choice (the `keyward.tls.name` attribute): time to expiry, swaps and refusals. */
  readonly tls?: Readonly<Record<string, Pick<TlsFromSecret, 'health' | 'on' | 'off'>>>;
}

/** Where the metrics go, and what they may name. */
export interface KeywardMetricsOptions {
  /** The meter to make the instruments on; default `metrics.getMeter('@keyward/core')`, a no-op until an OpenTelemetry SDK registers a MeterProvider. */
  readonly meter?: Meter;
  /**
   * Adds the `keyward.api_key.client` attribute to `keyward.api_key.grace_uses`, so that a
   * dashboard shows which clients have not switched. Off by default: one series per client is
   * unbounded cardinality in a service with many of them. Key ids are never attributes.
   */
  readonly clientAttribute?: boolean;
}

/** The running instrumentation: `stop()` removes its listeners and callbacks (the instruments stay, reporting nothing more). */
export interface KeywardMetrics {
  stop(): void;
}

const SECRET = 'keyward.secret.name';
const POOL = 'db.client.connection.pool.name';
const API_KEY_RESULTS: readonly ApiKeyResult[] = ['current', 'previous', 'missing', 'malformed', 'unknown', 'revoked', 'expired', 'scope'];
/** Rotation switches take from a few milliseconds (a login) to tens of seconds (a surge of logins, retries). */
const SWITCH_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * OpenTelemetry metrics for what Keyward holds inside the app: how old each secret is, how long
 * its lease has left, whether the pools switched to new credentials, which API keys are used,
 * and whether the audit trail keeps up. Names follow OpenTelemetry's conventions, units are
 * UCUM, and attributes are bounded (secret and pool names, results, states): never a value, a
 * key id or, unless `clientAttribute`, a client.
 *
 * Requests pay nothing for it: counts the components keep anyway are read when the metrics are
 * collected (observable instruments); only rare events (refreshes, renewals, switches) are
 * counted as they happen. With no OpenTelemetry SDK installed the meter is a no-op.
 *
 * | name | unit | attributes |
 * |---|---|---|
 * | `keyward.secret.age` | s | `keyward.secret.name`, `keyward.secret.provider` |
 * | `keyward.secret.refreshes` | {refresh} | `keyward.secret.name`, `keyward.refresh.outcome` (`changed`, `unchanged`, `failed`), `keyward.refresh.reason` |
 * | `keyward.secret.stale` | 1 | `keyward.secret.name` (1 while refreshes fail and the last good value is served, or refused past `maxStaleness`) |
 * | `keyward.lease.remaining` | s | `keyward.secret.name` |
 * | `keyward.lease.renewals` | {renewal} | `keyward.secret.name`, `keyward.lease.outcome` (`renewed`, `failed`, `too_short`) |
 * | `keyward.pool.generation` | {generation} | `db.client.connection.pool.name` |
 * | `keyward.pool.connections` | {connection} | `db.client.connection.pool.name`, `db.client.connection.state` (`idle`, `used`), `keyward.pool.generation.state` (`warming`, `active`, `draining`) |
 * | `keyward.pool.switch.duration` | s | `db.client.connection.pool.name` |
 * | `keyward.pool.auth_retries` | {retry} | `db.client.connection.pool.name` |
 * | `keyward.api_key.verifications` | {verification} | `keyward.api_key.result` |
 * | `keyward.api_key.grace_uses` | {use} | (`keyward.api_key.client` with `clientAttribute`) |
 * | `keyward.audit.records` | {record} | `keyward.audit.outcome` (`written`, `failed`) |
 * | `keyward.audit.pending` | {record} | |
 * | `keyward.audit.failures` | {record} | `keyward.audit.failure` (`AUDIT_TIMEOUT`, `AUDIT_SINK_ERROR`, `AUDIT_BACKLOG`, `AUDIT_CLOSE_TIMEOUT`) |
 * | `keyward.tls.certificate.remaining` | s | `keyward.tls.name` (time until the served certificate expires; 0 once it has) |
 * | `keyward.tls.certificate.changes` | {change} | `keyward.tls.name`, `keyward.tls.outcome` (`updated`, `rejected`), `keyward.tls.problem` (rejected: `key-mismatch`, `expired`, `not-yet-valid`, `chain-incomplete`, `malformed`) |
 *
 * @example
 * import { MeterProvider } from '@opentelemetry/sdk-metrics';
 * import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
 * const exporter = new PrometheusExporter({ preventServerStart: true });
 * const meter = new MeterProvider({ readers: [exporter] }).getMeter('billing');
 * const instrumentation = keywardMetrics({ store, pools: { database: pool }, apiKeys: verifier, audit: trail }, { meter });
 * app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res));
 */
export function keywardMetrics(sources: KeywardMetricsSources, options: KeywardMetricsOptions = {}): KeywardMetrics {
  const meter = options.meter ?? metrics.getMeter('@keyward/core');
  const stops: (() => void)[] = [];
  /** One read of a source serves all of its gauges (a batch callback), once per collection. */
  const observe = (observables: Observable[], callback: BatchObservableCallback) => {
    meter.addBatchObservableCallback(callback, observables);
    stops.push(() => meter.removeBatchObservableCallback(callback, observables));
  };
  const onStop = (stop: () => void) => stops.push(stop);

  if (sources.store !== undefined) instrumentStore(meter, sources.store, observe, onStop);
  for (const [name, pool] of Object.entries(sources.pools ?? {})) instrumentPool(meter, name, pool, observe, onStop);
  if (sources.apiKeys !== undefined) instrumentApiKeys(meter, sources.apiKeys, options.clientAttribute === true, observe);
  if (sources.audit !== undefined) instrumentAudit(meter, sources.audit, observe);
  if (sources.tls !== undefined) instrumentTls(meter, sources.tls, observe, onStop);

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const stop of stops.splice(0)) stop();
    },
  };
}

type Observe = (observables: Observable[], callback: BatchObservableCallback) => void;
type OnStop = (stop: () => void) => void;

function instrumentStore(meter: Meter, store: NonNullable<KeywardMetricsSources['store']>, observe: Observe, onStop: OnStop): void {
  const age = meter.createObservableGauge('keyward.secret.age', { unit: 's', description: 'Time since the provider last confirmed the secret.' });
  const stale = meter.createObservableGauge('keyward.secret.stale', { unit: '1', description: '1 while refreshes of the secret fail (its last good value served, or refused past maxStaleness).' });
  const remaining = meter.createObservableGauge('keyward.lease.remaining', { unit: 's', description: "Time left on the secret's lease, as last renewed." });
  observe([age, stale, remaining], (result) => {
    const now = Date.now();
    for (const [name, health] of Object.entries(store.health().secrets)) {
      const attributes = { [SECRET]: name };
      if (health.ageMs !== undefined) result.observe(age, health.ageMs / 1000, { ...attributes, 'keyward.secret.provider': health.provider });
      result.observe(stale, health.failingSince === undefined ? 0 : 1, attributes);
      if (health.lease !== undefined) result.observe(remaining, Math.max(0, Date.parse(health.lease.expiresAt) - now) / 1000, attributes);
    }
  });

  const refreshes = meter.createCounter('keyward.secret.refreshes', { unit: '{refresh}', description: 'Reads of a secret after bootstrap, by outcome.' });
  const refreshed = (e: SecretRefreshedEvent) =>
    refreshes.add(1, { [SECRET]: e.name, 'keyward.refresh.outcome': e.changed ? 'changed' : 'unchanged', 'keyward.refresh.reason': e.reason });
  const refreshFailed = (e: SecretRefreshFailedEvent) => refreshes.add(1, { [SECRET]: e.name, 'keyward.refresh.outcome': 'failed' });

  const renewals = meter.createCounter('keyward.lease.renewals', { unit: '{renewal}', description: 'Lease renewals, by outcome (too_short: renewed for under a third of its TTL, so new credentials are read).' });
  const renewed = (e: LeaseEvent) => renewals.add(1, { [SECRET]: e.name, 'keyward.lease.outcome': 'renewed' });
  const notRenewed = (e: LeaseEvent) => renewals.add(1, { [SECRET]: e.name, 'keyward.lease.outcome': e.error === undefined ? 'too_short' : 'failed' });
  store.on('refreshed', refreshed).on('refreshFailed', refreshFailed).on('leaseRenewed', renewed).on('leaseRenewFailed', notRenewed);
  onStop(() => store.off('refreshed', refreshed).off('refreshFailed', refreshFailed).off('leaseRenewed', renewed).off('leaseRenewFailed', notRenewed));
}

function instrumentPool(meter: Meter, name: string, pool: MeteredPool, observe: Observe, onStop: OnStop): void {
  const pooled = { [POOL]: name };
  const generation = meter.createObservableGauge('keyward.pool.generation', { unit: '{generation}', description: 'The generation (set of credentials) new checkouts go to.' });
  const connections = meter.createObservableUpDownCounter('keyward.pool.connections', {
    unit: '{connection}',
    description: "Open connections by state (idle, used), on the active generation, on new credentials warming up, or on draining ones (after OpenTelemetry's db.client.connection.count).",
  });
  // By the generation's state, not its id: each rotation would otherwise leave series behind (the
  // JavaScript SDK keeps exporting an attribute set it no longer observes, at its last value).
  const series = (['warming', 'active', 'draining'] as const).flatMap((state) =>
    (['idle', 'used'] as const).map((use) => ({ state, use, attributes: { ...pooled, 'keyward.pool.generation.state': state, 'db.client.connection.state': use } })),
  );
  observe([generation, connections], (result) => {
    const counts = { warming: { idle: 0, used: 0 }, active: { idle: 0, used: 0 }, draining: { idle: 0, used: 0 } };
    for (const g of pool.stats().generations) {
      if (g.state === 'active') result.observe(generation, g.id, pooled);
      if (g.state === 'closed') continue;
      counts[g.state].idle += g.idle;
      counts[g.state].used += g.busy;
    }
    for (const { state, use, attributes } of series) result.observe(connections, counts[state][use], attributes);
  });
  const switches = meter.createHistogram('keyward.pool.switch.duration', {
    unit: 's',
    description: 'Time from a rotation seen to the new credentials taking over (logins, checks and warm-up).',
    advice: { explicitBucketBoundaries: SWITCH_BUCKETS_S },
  });
  const retries = meter.createCounter('keyward.pool.auth_retries', { unit: '{retry}', description: 'Logins refused while connecting: one shared refresh, then one retry.' });
  const switched = (e: CredentialPoolEvents['generation'][0]) => switches.record(e.switchMs / 1000, pooled);
  const retried = () => retries.add(1, pooled);
  pool.on('generation', switched);
  pool.on('authRetry', retried);
  onStop(() => {
    pool.off('generation', switched);
    pool.off('authRetry', retried);
  });
}

function instrumentApiKeys(meter: Meter, verifier: NonNullable<KeywardMetricsSources['apiKeys']>, byClient: boolean, observe: Observe): void {
  const verifications = meter.createObservableCounter('keyward.api_key.verifications', { unit: '{verification}', description: 'API keys checked, by result.' });
  const graceUses = meter.createObservableCounter('keyward.api_key.grace_uses', { unit: '{use}', description: 'Requests made with a previous key during its grace.' });
  // Result attributes made once: a collection allocates nothing per result.
  const byResult = API_KEY_RESULTS.map((result) => [result, { 'keyward.api_key.result': result }] as const);
  observe([verifications, graceUses], (result) => {
    const counts = verifier.stats().verifications;
    for (const [name, attributes] of byResult) result.observe(verifications, counts[name], attributes);
    if (!byClient) return result.observe(graceUses, counts.previous);
    const perClient = new Map<string, number>();
    for (const use of verifier.usage()) perClient.set(use.client, (perClient.get(use.client) ?? 0) + use.uses);
    for (const [client, uses] of perClient) result.observe(graceUses, uses, { 'keyward.api_key.client': client });
  });
}

function instrumentAudit(meter: Meter, trail: NonNullable<KeywardMetricsSources['audit']>, observe: Observe): void {
  const records = meter.createObservableCounter('keyward.audit.records', { unit: '{record}', description: 'Audit records, written (acknowledged by every transport) or failed (lost).' });
  const pending = meter.createObservableUpDownCounter('keyward.audit.pending', { unit: '{record}', description: 'Audit records waiting for their sink.' });
  const failures = meter.createObservableCounter('keyward.audit.failures', { unit: '{record}', description: 'Audit records lost, by reason.' });
  const written: Attributes = { 'keyward.audit.outcome': 'written' };
  const failed: Attributes = { 'keyward.audit.outcome': 'failed' };
  observe([records, pending, failures], (result) => {
    const health = trail.health();
    result.observe(records, health.written, written);
    result.observe(records, health.failed, failed);
    result.observe(pending, health.pending);
    for (const [code, count] of Object.entries(health.failures) as [AuditFailureCode, number][]) result.observe(failures, count, { 'keyward.audit.failure': code });
  });
}

function instrumentTls(meter: Meter, certificates: NonNullable<KeywardMetricsSources['tls']>, observe: Observe, onStop: OnStop): void {
  const remaining = meter.createObservableGauge('keyward.tls.certificate.remaining', { unit: 's', description: 'Time until the served TLS certificate expires (0 once it has).' });
  const changes = meter.createCounter('keyward.tls.certificate.changes', { unit: '{change}', description: 'New certificates from the secret: swapped in (updated), or refused by their checks (rejected, with the problem).' });
  observe([remaining], (result) => {
    for (const [name, certificate] of Object.entries(certificates)) result.observe(remaining, Math.max(0, certificate.health().expiresInMs) / 1000, { 'keyward.tls.name': name });
  });
  for (const [name, certificate] of Object.entries(certificates)) {
    const updated = () => changes.add(1, { 'keyward.tls.name': name, 'keyward.tls.outcome': 'updated' });
    const rejected = (e: TlsFromSecretEvents['rejected'][0]) => changes.add(1, { 'keyward.tls.name': name, 'keyward.tls.outcome': 'rejected', 'keyward.tls.problem': e.problem });
    certificate.on('updated', updated).on('rejected', rejected);
    onStop(() => certificate.off('updated', updated).off('rejected', rejected));
  }
}
