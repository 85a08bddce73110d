import { describe, expect, it } from '@jest/globals';
import type { AuditHealth } from '../audit/audit-trail.js';
import { CredentialPool } from '../pool/credential-pool.js';
import { storeCredentials } from '../pool/credential-source.js';
import type { PoolDriver } from '../pool/pool-driver.js';
import { canary, closeAfterEach, expectNoCanary, memoryProvider, waitFor } from '@keyward/test-support';
import { SecretStore } from '../store/secret-store.js';
import { keywardHealthReport } from './keyward-health.js';

const trail = (health: AuditHealth) => ({ health: () => health });
const head = { seq: 5, hash: 'ab'.repeat(32) };
const writing: AuditHealth = { status: 'ok', written: 3, failed: 0, pending: 0, failures: {}, head };
const failing: AuditHealth = { status: 'failing', written: 3, failed: 2, pending: 1, failures: { AUDIT_TIMEOUT: 2 }, lastFailure: { code: 'AUDIT_TIMEOUT', at: '2026-01-01T00:00:00.000Z' }, head };

const driver: PoolDriver<{ user: string }, { username: string; password: string }> = {
  connect: async ({ username }) => ({ user: username }),
  close: async () => {},
  destroy: () => {},
  isAuthFailure: () => false,
};

describe('keywardHealthReport', () => {
  const track = closeAfterEach();
  const password = canary('health-password');
  const token = canary('health-token');

  async function started(options: { maxStaleness?: number } = {}) {
    const provider = memoryProvider({ apiToken: token, database: { username: 'app', password } });
    const store = track(
      await new SecretStore({
        app: 'billing',
        environment: 'test',
        providers: { test: provider },
        secrets: { apiToken: { refresh: { interval: 20, jitter: 0 } }, database: { refresh: false } },
        maxStaleness: options.maxStaleness ?? 3_600_000,
      }).start(),
    );
    return { store, provider };
  }

  it('reports every part under checks, ok when all are, with names, versions and counts but never a value', async () => {
    const { store } = await started();
    const database = new CredentialPool(storeCredentials(store, 'database'), driver, { max: 2 });
    track({ close: () => database.end() });
    (await database.acquire()).release();

    const report = keywardHealthReport({ store, audit: trail(writing), pools: { database } });
    expect(report).toMatchObject({
      status: 'ok',
      checkedAt: expect.any(String),
      checks: {
        store: { status: 'ok', secrets: { apiToken: { status: 'ok', provider: 'memory' }, database: { status: 'ok', provider: 'memory' } } },
        audit: { status: 'ok', delivery: 'ok', written: 3, failed: 0, pending: 0 },
        pools: { database: { status: 'ok', active: 1, total: 1, idle: 1, busy: 0, waiting: 0, generations: [{ id: 1, state: 'active', idle: 1, busy: 0, opening: 0 }] } },
      },
    });
    expectNoCanary({ report: JSON.stringify(report) }, password, token);
  });

  it('leaves out the parts it was not given', async () => {
    const { store } = await started();
    expect(Object.keys(keywardHealthReport({ store }).checks)).toEqual(['store']);
  });

  it('is degraded while the audit trail fails, and down when the routes are fail-closed', async () => {
    const { store } = await started();
    expect(keywardHealthReport({ store, audit: trail(failing) })).toMatchObject({
      status: 'degraded',
      checks: { store: { status: 'ok' }, audit: { status: 'degraded', delivery: 'failing', lastFailure: { code: 'AUDIT_TIMEOUT' } } },
    });
    expect(keywardHealthReport({ store, audit: trail(failing), failClosed: true })).toMatchObject({ status: 'down', checks: { audit: { status: 'down' } } });
    expect(keywardHealthReport({ store, audit: trail({ ...writing, status: 'closed' }) }).status).toBe('degraded');
    expect(keywardHealthReport({ store, audit: trail(writing), failClosed: true }).status).toBe('ok');
  });

  it('takes the store status: degraded while a refresh fails, down past maxStaleness, whatever the other parts say', async () => {
    const { store, provider } = await started({ maxStaleness: 150 });
    provider.down = true;
    await waitFor(() => store.health().status === 'degraded', 2000, 'a failing refresh');
    expect(keywardHealthReport({ store, audit: trail(writing) })).toMatchObject({ status: 'degraded', checks: { store: { status: 'degraded' }, audit: { status: 'ok' } } });
    await waitFor(() => store.health().status === 'down', 2000, 'the secret past maxStaleness');
    const report = keywardHealthReport({ store, audit: trail(failing) });
    expect(report).toMatchObject({ status: 'down', checks: { store: { secrets: { apiToken: { status: 'down', error: 'PROVIDER_UNAVAILABLE' } } }, audit: { status: 'degraded' } } });
    expectNoCanary({ report: JSON.stringify(report) }, password, token);
  });

  it('is down when a pool has no active generation (ending or ended): no checkout can be served', async () => {
    const { store } = await started();
    const database = new CredentialPool(storeCredentials(store, 'database'), driver);
    const busy = await database.acquire();
    const ending = database.end();
    await waitFor(() => database.stats().generations[0]?.state === 'draining', 2000, 'the generation draining');
    expect(keywardHealthReport({ store, pools: { database } })).toMatchObject({
      status: 'down',
      checks: { store: { status: 'ok' }, pools: { database: { status: 'down', busy: 1, generations: [{ state: 'draining' }] } } },
    });
    busy.release();
    await ending;
    expect(keywardHealthReport({ store, pools: { database } }).checks.pools!['database']).toEqual({ status: 'down', total: 0, idle: 0, busy: 0, waiting: 0, generations: [] });
  });

  it('reports only the generation fields a health answer needs, whatever else an adapter counts', async () => {
    const { store } = await started();
    const adapter = { stats: () => ({ total: 0, idle: 0, busy: 0, waiting: 0, generations: [{ id: 4, version: 'v2', state: 'active' as const, idle: 0, busy: 0, opening: 0, threadIds: [17] }] }) };
    expect(keywardHealthReport({ store, pools: { mysql: adapter } }).checks.pools!['mysql']!.generations).toEqual([{ id: 4, version: 'v2', state: 'active', idle: 0, busy: 0, opening: 0 }]);
  });
});
