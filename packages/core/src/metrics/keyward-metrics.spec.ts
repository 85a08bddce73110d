import { describe, expect, it } from '@jest/globals';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { canary, closeAfterEach, entry, expectNoCanary, memoryProvider, nextEvent, ScriptedTransport, waitFor } from '@keyward/test-support';
import { createApiKeyVerifier } from '../api-keys/api-key-verifier.js';
import { generateApiKey } from '../api-keys/api-key-format.js';
import { createApiKey, rotateApiKey } from '../api-keys/key-rotation.js';
import { emptyKeyRing } from '../api-keys/key-ring.js';
import { createAuditTrail } from '../audit/audit-trail.js';
import { KeywardError } from '../errors/index.js';
import { CredentialPool } from '../pool/credential-pool.js';
import { storeCredentials } from '../pool/credential-source.js';
import type { PoolDriver } from '../pool/pool-driver.js';
import type { SecretPayload, SecretProvider } from '../providers/index.js';
import type { SecretLease } from '../secret/index.js';
import { SecretStore } from '../store/secret-store.js';
import { tlsFromSecret } from '../tls/tls-from-secret.js';
import { keywardMetrics } from './keyward-metrics.js';
import { testCertificate } from '@keyward/test-support/tls';

/** Collects on demand, as a Prometheus scrape does. */
class ScrapeReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
  async scrape(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
  }
}

function meterWithReader() {
  const reader = new ScrapeReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, meter: provider.getMeter('test'), provider };
}

/** The data points of one metric as `{ attributes, value }`, sorted for stable comparison. */
function points(metrics: Map<string, MetricData>, name: string): { attributes: Record<string, unknown>; value: unknown }[] {
  const metric = metrics.get(name);
  if (metric === undefined) return [];
  return metric.dataPoints
    .map((p) => ({ attributes: { ...p.attributes }, value: metric.dataPointType === DataPointType.HISTOGRAM ? (p.value as { count: number }).count : p.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

const value = (metrics: Map<string, MetricData>, name: string, attributes: Record<string, unknown>) =>
  points(metrics, name).find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))?.value;

const PEPPER = 'pepper-0123456789abcdef0123456789';

describe('keywardMetrics', () => {
  const track = closeAfterEach();

  it("reports each secret's age, staleness and refreshes by outcome; never a value", async () => {
    const token = canary('metrics-token');
    const provider = memoryProvider({ apiToken: token, database: { username: 'app', password: canary('metrics-password') } });
    const store = track(
      await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { apiToken: { refresh: false }, database: { refresh: false } } }).start(),
    );
    const { reader, meter } = meterWithReader();
    const instrumentation = keywardMetrics({ store }, { meter });
    track({ close: async () => instrumentation.stop() });

    let metrics = await reader.scrape();
    expect(points(metrics, 'keyward.secret.age').map((p) => p.attributes)).toEqual([
      { 'keyward.secret.name': 'apiToken', 'keyward.secret.provider': 'memory' },
      { 'keyward.secret.name': 'database', 'keyward.secret.provider': 'memory' },
    ]);
    expect(value(metrics, 'keyward.secret.stale', { 'keyward.secret.name': 'apiToken' })).toBe(0);
    expect(metrics.get('keyward.secret.age')?.descriptor.unit).toBe('s');
    // Bootstrap reads are not refreshes.
    expect(points(metrics, 'keyward.secret.refreshes')).toEqual([]);

    await store.refresh('apiToken'); // same value
    provider.values['apiToken'] = canary('metrics-token-2');
    await store.refresh('apiToken'); // new value
    provider.down = true;
    await store.refresh('apiToken').catch(() => {});
    metrics = await reader.scrape();
    expect(points(metrics, 'keyward.secret.refreshes')).toEqual([
      { attributes: { 'keyward.secret.name': 'apiToken', 'keyward.refresh.outcome': 'changed', 'keyward.refresh.reason': 'manual' }, value: 1 },
      { attributes: { 'keyward.secret.name': 'apiToken', 'keyward.refresh.outcome': 'failed' }, value: 1 },
      { attributes: { 'keyward.secret.name': 'apiToken', 'keyward.refresh.outcome': 'unchanged', 'keyward.refresh.reason': 'manual' }, value: 1 },
    ]);
    // The last good value is served while refreshes fail: stale says so.
    expect(value(metrics, 'keyward.secret.stale', { 'keyward.secret.name': 'apiToken' })).toBe(1);
    expect(value(metrics, 'keyward.secret.stale', { 'keyward.secret.name': 'database' })).toBe(0);
    expectNoCanary({ metrics: JSON.stringify([...metrics.values()]) }, token, provider.values['apiToken'] as string, (provider.values['database'] as { password: string }).password);
  });

  it("reports a lease's time left and its renewals by outcome", async () => {
    let renewTtl = 600;
    const provider = {
      kind: 'db-creds',
      locate: () => 'database/creds/app',
      async read(): Promise<SecretPayload> {
        return { value: { username: 'v-app', password: 'pw' }, version: 'gen-1', lease: { id: 'lease-1', ttlMs: 600, renewable: true, issuedAt: new Date() } };
      },
      async renew(lease: SecretLease): Promise<SecretLease> {
        if (renewTtl === 0) throw new KeywardError('PROVIDER_UNAVAILABLE', 'lease not found');
        return { ...lease, ttlMs: renewTtl, issuedAt: new Date() };
      },
    } satisfies SecretProvider;
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false }).start());
    const { reader, meter } = meterWithReader();
    const metrics = keywardMetrics({ store }, { meter });
    track({ close: async () => metrics.stop() });

    const remaining = value(await reader.scrape(), 'keyward.lease.remaining', { 'keyward.secret.name': 'database' }) as number;
    expect(remaining).toBeGreaterThan(0.3);
    expect(remaining).toBeLessThanOrEqual(0.6);
    await nextEvent(store, 'leaseRenewed', 3000);
    expect(value(await reader.scrape(), 'keyward.lease.renewals', { 'keyward.secret.name': 'database', 'keyward.lease.outcome': 'renewed' })).toBe(1);
    renewTtl = 100; // under a third of the TTL at issue: not worth keeping, new credentials are read
    await nextEvent(store, 'leaseRenewFailed', 3000);
    expect(value(await reader.scrape(), 'keyward.lease.renewals', { 'keyward.secret.name': 'database', 'keyward.lease.outcome': 'too_short' })).toBe(1);
    renewTtl = 0;
    await nextEvent(store, 'leaseRenewFailed', 3000);
    expect(value(await reader.scrape(), 'keyward.lease.renewals', { 'keyward.secret.name': 'database', 'keyward.lease.outcome': 'failed' })).toBe(1);
  });

  it('reports the pool: the active generation, connections by state and generation, switch durations, auth retries', async () => {
    const provider = memoryProvider({ database: { username: 'u1', password: 'p1' } });
    provider.versions['database'] = 'v1';
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { database: { refresh: false } } }).start());
    const refused = new Set<string>();
    const driver: PoolDriver<{ user: string }, { username: string; password: string }> = {
      connect: async ({ username }) => {
        if (refused.has(username)) throw Object.assign(new Error('password authentication failed'), { code: '28P01' });
        return { user: username };
      },
      close: async () => {},
      destroy: () => {},
      isAuthFailure: (err) => (err as { code?: string }).code === '28P01',
    };
    const pool = new CredentialPool(storeCredentials(store, 'database'), driver, { max: 4, min: 2 });
    track({ close: () => pool.end() });
    await pool.warm();
    const busy = await pool.acquire();
    const { reader, meter } = meterWithReader();
    const metrics = keywardMetrics({ pools: { database: pool } }, { meter });
    track({ close: async () => metrics.stop() });

    let scraped = await reader.scrape();
    const pooled = { 'db.client.connection.pool.name': 'database' };
    expect(value(scraped, 'keyward.pool.generation', pooled)).toBe(1);
    const connections = (state: 'active' | 'draining', use: 'idle' | 'used') => value(scraped, 'keyward.pool.connections', { ...pooled, 'keyward.pool.generation.state': state, 'db.client.connection.state': use });
    expect(points(scraped, 'keyward.pool.connections')).toHaveLength(6);
    expect([connections('active', 'idle'), connections('active', 'used'), connections('draining', 'idle'), connections('draining', 'used')]).toEqual([1, 1, 0, 0]);

    provider.values['database'] = { username: 'u2', password: 'p2' };
    provider.versions['database'] = 'v2';
    await store.refresh('database');
    await waitFor(() => pool.stats().generations.some((g) => g.id === 2 && g.state === 'active'), 2000, 'generation 2 active');
    expect(pool.stats().generations.map((g) => [g.id, g.state])).toEqual([[1, 'draining'], [2, 'active']]);
    scraped = await reader.scrape();
    expect(value(scraped, 'keyward.pool.generation', pooled)).toBe(2);
    // Generation 1 drains: its busy connection is counted as draining until it comes back.
    expect([connections('active', 'idle'), connections('active', 'used'), connections('draining', 'idle'), connections('draining', 'used')]).toEqual([2, 0, 0, 1]);
    expect(value(scraped, 'keyward.pool.switch.duration', pooled)).toBe(1);
    expect(scraped.get('keyward.pool.switch.duration')?.descriptor.unit).toBe('s');
    busy.release();
    await waitFor(() => pool.stats().generations.every((g) => g.id !== 1), 2000, 'generation 1 closed');
    scraped = await reader.scrape();
    expect([connections('active', 'idle'), connections('active', 'used'), connections('draining', 'idle'), connections('draining', 'used')]).toEqual([2, 0, 0, 0]);

    // New credentials refused at login: one shared refresh, one retry, counted.
    refused.add('u2');
    const drained = pool.stats().generations[0]!.idle;
    const held = await Promise.all(Array.from({ length: drained }, () => pool.acquire()));
    const opened = pool.acquire(); // a new connection: refused, refresh, retry
    provider.values['database'] = { username: 'u3', password: 'p3' };
    provider.versions['database'] = 'v3';
    (await opened).release();
    for (const lease of held) lease.release();
    expect(value(await reader.scrape(), 'keyward.pool.auth_retries', pooled)).toBe(1);
  });

  it('counts API key checks by result and grace uses (by client only when asked)', async () => {
    const first = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper: PEPPER });
    const second = rotateApiKey(first.ring, { client: 'billing', grace: '24h', env: 'live', pepper: PEPPER });
    const verifier = createApiKeyVerifier({ ring: () => second.ring, pepper: () => PEPPER });
    verifier.check(second.key);
    verifier.check(second.key);
    verifier.check(first.key);
    verifier.check(undefined);
    verifier.check('garbage');
    verifier.check(generateApiKey({ env: 'live' }).key);
    verifier.check(second.key, { scopes: ['orders:write'] });

    const plain = meterWithReader();
    const byClient = meterWithReader();
    const stops = [keywardMetrics({ apiKeys: verifier }, { meter: plain.meter }), keywardMetrics({ apiKeys: verifier }, { meter: byClient.meter, clientAttribute: true })];
    track({ close: async () => stops.forEach((s) => s.stop()) });
    const scraped = await plain.reader.scrape();
    const byResult = Object.fromEntries(points(scraped, 'keyward.api_key.verifications').map((p) => [p.attributes['keyward.api_key.result'], p.value]));
    expect(byResult).toEqual({ current: 2, previous: 1, missing: 1, malformed: 1, unknown: 1, revoked: 0, expired: 0, scope: 1 });
    expect(points(scraped, 'keyward.api_key.grace_uses')).toEqual([{ attributes: {}, value: 1 }]);
    expect(points(await byClient.reader.scrape(), 'keyward.api_key.grace_uses')).toEqual([{ attributes: { 'keyward.api_key.client': 'billing' }, value: 1 }]);
    // Never a key or a key id, whatever is opted in.
    expectNoCanary({ metrics: JSON.stringify([...scraped.values(), ...(await byClient.reader.scrape()).values()]) }, first.key, second.key, first.keyId, second.keyId);
  });

  it("reports the audit trail's records by outcome, its backlog and its losses by reason", async () => {
    const sink = new ScriptedTransport('ack');
    const trail = await createAuditTrail({ key: 'k'.repeat(32), service: 's', transports: [sink], writeTimeout: '100ms' });
    track(trail);
    const { reader, meter } = meterWithReader();
    const metrics = keywardMetrics({ audit: trail }, { meter });
    track({ close: async () => metrics.stop() });
    await trail.record(entry(1));
    await trail.record(entry(2));
    sink.mode = 'silent';
    const lost = trail.record(entry(3)).catch(() => {});
    expect(value(await reader.scrape(), 'keyward.audit.pending', {})).toBe(1);
    await lost;
    const scraped = await reader.scrape();
    expect(points(scraped, 'keyward.audit.records')).toEqual([
      { attributes: { 'keyward.audit.outcome': 'failed' }, value: 1 },
      { attributes: { 'keyward.audit.outcome': 'written' }, value: 2 },
    ]);
    expect(value(scraped, 'keyward.audit.pending', {})).toBe(0);
    expect(points(scraped, 'keyward.audit.failures')).toEqual([{ attributes: { 'keyward.audit.failure': 'AUDIT_TIMEOUT' }, value: 1 }]);
  });

  it('stop() removes its listeners and callbacks; with no SDK the default meter is a no-op', async () => {
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: memoryProvider({ apiToken: 't' }) }, secrets: { apiToken: {} } }).start());
    const { reader, meter } = meterWithReader();
    const metrics = keywardMetrics({ store }, { meter });
    expect(store.listenerCount('refreshed')).toBe(1);
    metrics.stop();
    metrics.stop();
    expect(store.listenerCount('refreshed')).toBe(0);
    expect(points(await reader.scrape(), 'keyward.secret.age')).toEqual([]);

    // No MeterProvider registered globally: instruments are no-ops, nothing fails.
    const noop = keywardMetrics({ store });
    await store.refresh();
    noop.stop();
    expect(store.listenerCount('refreshed')).toBe(0);
  });

  it("reports the served certificate's time to expiry, its swaps and its refusals by problem", async () => {
    const root = await testCertificate({ ca: true });
    const [first, second, other] = await Promise.all([1, 2, 3].map(() => testCertificate({ issuer: root, notAfter: new Date(Date.now() + 600_000) })));
    const k8s = (cert: string, key: string) => ({ 'tls.crt': cert, 'tls.key': key, 'ca.crt': root.cert });
    const provider = memoryProvider({ tls: k8s(first!.cert, first!.key) });
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { tls: { refresh: false } } }).start());
    const cert = tlsFromSecret(store, 'tls');
    track({ close: async () => cert.close() });
    const { reader, meter } = meterWithReader();
    const instrumentation = keywardMetrics({ tls: { https: cert } }, { meter });
    track({ close: async () => instrumentation.stop() });

    let metrics = await reader.scrape();
    const left = value(metrics, 'keyward.tls.certificate.remaining', { 'keyward.tls.name': 'https' }) as number;
    expect(left).toBeGreaterThan(590);
    expect(left).toBeLessThanOrEqual(600);
    expect(points(metrics, 'keyward.tls.certificate.changes')).toEqual([]);

    provider.values['tls'] = k8s(second!.cert, second!.key);
    await store.refresh('tls');
    provider.values['tls'] = k8s(other!.cert, second!.key); // a botched upload: not its key
    await store.refresh('tls');
    metrics = await reader.scrape();
    expect(points(metrics, 'keyward.tls.certificate.changes')).toEqual([
      { attributes: { 'keyward.tls.name': 'https', 'keyward.tls.outcome': 'rejected', 'keyward.tls.problem': 'key-mismatch' }, value: 1 },
      { attributes: { 'keyward.tls.name': 'https', 'keyward.tls.outcome': 'updated' }, value: 1 },
    ]);

    instrumentation.stop();
    provider.values['tls'] = k8s(first!.cert, first!.key);
    await store.refresh('tls');
    expect(value(await reader.scrape(), 'keyward.tls.certificate.changes', { 'keyward.tls.name': 'https', 'keyward.tls.outcome': 'updated' })).toBe(1);
  });
});
