import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore } from '@keyward/core';
import { createMysqlPool, type MysqlPool, type MysqlPoolOptions } from '@keyward/mysql2';
import type { RowDataPacket } from 'mysql2/promise';
import { canary, memoryProvider, nextEvent, waitFor } from '@keyward/test-support';
import { eventually, MARIADB, mariadbSandbox, startQueryLoad, type MariadbSandbox } from '@keyward/test-support/mariadb';

const WORKERS = 50;
const ROTATIONS = 10;
const QUERIES_PER_GENERATION = 300;

// One user whose password changes (ALTER USER), as a single-user rotation (AWS Secrets Manager's
// single-user strategy) does it: from the ALTER on, the old password opens no new connection.
describe('MysqlPool when the password of its one MariaDB user changes', () => {
  let db: MariadbSandbox;
  let users = 0;
  const open: { end(): Promise<void> }[] = [];

  beforeAll(async () => {
    db = await mariadbSandbox('pwd');
    await db.admin.query(`CREATE TABLE \`${db.database}\`.events (id BIGINT AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, n INT NOT NULL, KEY by_worker (worker))`);
  });
  afterEach(async () => {
    for (const o of open.splice(0)) await o.end();
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** A fresh user, a store that serves its login from memory, and a pool on that store. */
  async function setup(options: Partial<MysqlPoolOptions>) {
    const username = `${db.prefix}_${++users}`;
    const password = canary('pw1');
    await db.createUser(username, password);
    const provider = memoryProvider({ database: { username, password } });
    provider.versions['database'] = 'v1';
    const store = await new SecretStore({ app: 'kw', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false }).start();
    const pool = createMysqlPool({ store, secret: 'database', connection: { ...MARIADB, database: db.database }, ...options } as MysqlPoolOptions);
    open.push(pool, { end: () => store.close() });
    const userSessions = async () => (await db.sessions()).filter((s) => s.user === username).map((s) => s.id);
    return { username, provider, store, pool, userSessions };
  }

  it(`keeps ${WORKERS} workers at 0 failed queries through ${ROTATIONS} password changes, half of them found out by a refused login, and ends every session of an old generation`, async () => {
    const { username, provider, store, pool, userSessions } = await setup({ connectionLimit: 10, min: 2, drainTimeout: '10s' });
    /** Thread ids seen on checkouts, by generation: a witness independent of the pool's stats. */
    const lent = new Map<number, Set<number>>();
    pool.on('acquire', (c) => {
      if (!lent.has(c.generation)) lent.set(c.generation, new Set());
      lent.get(c.generation)!.add(c.threadId);
    });
    let authRetries = 0;
    pool.on('authRetry', () => authRetries++);
    const switches: number[] = [];
    const sessionWaits: number[] = [];

    // Some transactions discard their connection, so the pool keeps logging in while the password changes.
    const load = startQueryLoad(pool, { workers: WORKERS, table: 'events', maxMs: 25_000, destroyEvery: 5 });
    const rotate = async (p: MysqlPool) => {
      await waitFor(() => load.done() >= QUERIES_PER_GENERATION, 5000, 'the first queries');
      for (let n = 2; n <= ROTATIONS + 1; n++) {
        const version = `v${n}`;
        const switched = nextEvent<{ id: number; version: string; previous: number }>(p, 'generation', 5000, (e) => e.version === version);
        const drained = nextEvent<{ id: number; version: string }>(p, 'drained', 10_000, (e) => e.version === `v${n - 1}`);
        // The source has the new password before the server does, as when a rotation writes the
        // secret's pending version first: a refresh after a refused login then finds it.
        const password = canary(`pw${n}`);
        provider.values['database'] = { username, password };
        provider.versions['database'] = version;
        await db.setPassword(username, password);
        // Every other time nobody tells the pool: its next login is refused, and it refreshes by itself.
        if (n % 2 === 1) await store.refresh('database');
        const { id, previous } = await switched;
        switches.push(id);
        await drained;
        // Every session of the user is one the current generation holds open, none an old one's.
        const old = new Set([...lent].filter(([gen]) => gen <= previous).flatMap(([, ids]) => [...ids]));
        sessionWaits.push(
          await eventually(
            async () => {
              const ids = await userSessions();
              const current = p.stats().generations.find((g) => g.id === id)!.threadIds;
              return ids.every((t) => current.includes(t) && !old.has(t));
            },
            3000,
            `no session of generation ${previous} left`,
          ),
        );
        const before = load.done();
        await waitFor(() => load.done() >= before + QUERIES_PER_GENERATION, 5000, 'queries on the new generation');
      }
    };
    const outcome = await rotate(pool).catch((err: unknown) => err ?? new Error('rotation failed'));
    const report = await load.stop();
    if (outcome !== undefined) throw outcome;

    console.log(
      `password changes: ${report.queries} statements (${report.reads} reads, ${report.writes} writes, ${report.transactions} transactions) ` +
        `in ${report.ms} ms by ${WORKERS} workers, ${switches.length} rotations, ${authRetries} logins refused and retried, ` +
        `${report.failures.length} failed; connections lent per generation ${JSON.stringify([...lent].map(([g, ids]) => [g, ids.size]))}; ` +
        `waits for old sessions to end (ms) ${JSON.stringify(sessionWaits)}`,
    );
    expect(report.failures).toEqual([]);
    expect(switches).toEqual(Array.from({ length: ROTATIONS }, (_, i) => i + 2));
    expect(authRetries).toBeGreaterThanOrEqual(ROTATIONS / 2);
    expect(lent.size).toBe(ROTATIONS + 1);
  }, 30_000);

  it('answers a password changed behind its back with ONE shared refresh and a retry: no query fails', async () => {
    const { username, provider, pool, userSessions } = await setup({ connectionLimit: 5, idleTimeout: 50 });
    await Promise.all(Array.from({ length: 5 }, () => pool.query('SELECT 1')));
    await waitFor(() => pool.stats().total === 0, 3000, 'idle connections closed'); // so the next checkouts must log in

    const password = canary('changed-behind-the-back');
    await db.setPassword(username, password); // the old password stops working; nobody tells the pool
    provider.values['database'] = { username, password };
    provider.versions['database'] = 'v2';
    const readsBefore = provider.reads.length;
    const refused: unknown[] = [];
    const switches: unknown[] = [];
    pool.on('authRetry', (e) => refused.push(e));
    pool.on('generation', (e) => switches.push(e));

    const results = await Promise.allSettled(Array.from({ length: 20 }, () => pool.query<RowDataPacket[]>('SELECT CURRENT_USER() AS user')));
    const failures = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as { code?: string });
    console.log(`auth failure: 20 queries, ${refused.length} logins refused (1045), ${provider.reads.length - readsBefore} refresh, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((e) => (e as { version: string }).version === 'v1')).toBe(true);
    expect(provider.reads.length - readsBefore).toBe(1);
    expect(switches).toEqual([expect.objectContaining({ version: 'v2' })]);
    expect(pool.stats().generations.map((g) => g.version)).toEqual(['v2']);
    expect(await userSessions()).toEqual(expect.arrayContaining([...pool.stats().generations[0]!.threadIds]));
  });

  it('gives up after that one refresh when the source has nothing newer: the query fails with 1045, it does not loop', async () => {
    const { username, provider, pool } = await setup({ connectionLimit: 3 });
    await db.setPassword(username, canary('unknown-to-the-source'));
    const readsBefore = provider.reads.length;
    const refused: unknown[] = [];
    pool.on('authRetry', (e) => refused.push(e));
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' });
    expect(refused).toHaveLength(1);
    expect(provider.reads.length - readsBefore).toBe(1);
    expect(pool.stats()).toMatchObject({ total: 0, busy: 0 });
  });
});
