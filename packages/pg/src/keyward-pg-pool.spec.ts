import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { inspect } from 'node:util';
import type { SecretStore } from '@keyward/core';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import type pg from 'pg';
import { nextEvent } from '@keyward/test-support';
import { KeywardPgPool, createPgPool } from './keyward-pg-pool.js';
import type { KeywardPgPoolOptions, PgPoolSettings } from './pg-pool-options.js';
import { asAdmin, createLedger, createLoginRole, eventually, memoryStore, randomPassword, sessions, setPassword } from '@keyward/test-support/postgres';

describe('KeywardPgPool: the pg.Pool surface, on a real PostgreSQL', () => {
  let postgres: RunningPostgres;
  const password = randomPassword('canary');
  const pools: KeywardPgPool[] = [];
  const stores: SecretStore[] = [];

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    await createLedger(postgres);
    await createLoginRole(postgres, 'app', password);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  async function storeWith(value: unknown) {
    const made = await memoryStore(value);
    stores.push(made.store);
    return made;
  }

  async function poolOf(settings: PgPoolSettings & Partial<KeywardPgPoolOptions> = {}, value: unknown = { username: 'app', password }) {
    const { store, memory } = await storeWith(value);
    const pool = createPgPool({ store, secret: 'database', host: '127.0.0.1', port: postgres.port, database: postgres.database, ...settings } as KeywardPgPoolOptions);
    pools.push(pool);
    return { pool, store, memory };
  }

  const pidOf = async (q: { query: KeywardPgPool['query'] } | pg.PoolClient) =>
    ((await (q as KeywardPgPool).query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);

  it('runs queries in promise and callback form, with values and query configs', async () => {
    const { pool } = await poolOf();
    expect((await pool.query<{ who: string }>('SELECT current_user AS who')).rows).toEqual([{ who: 'app' }]);
    expect((await pool.query('SELECT $1::int + $2::int AS sum', [2, 3])).rows[0]).toEqual({ sum: 5 });
    expect((await pool.query({ text: 'SELECT $1::text AS t', values: ['x'], rowMode: 'array' } as pg.QueryConfig)).rows).toEqual([['x']]);
    const viaCallback = await new Promise((resolve, reject) => pool.query('SELECT 1 AS one', (err, res) => (err ? reject(err) : resolve(res.rows))));
    expect(viaCallback).toEqual([{ one: 1 }]);
    const withValues = await new Promise((resolve, reject) => pool.query('SELECT $1::int AS n', [7], (err, res) => (err ? reject(err) : resolve(res.rows))));
    expect(withValues).toEqual([{ n: 7 }]);
    const failed = await new Promise<Error | undefined>((resolve) => pool.query('SELECT nope', (err) => resolve(err)));
    expect(failed).toMatchObject({ code: '42703' });
  });

  it('keeps the client after an SQL error, and discards it when its connection broke', async () => {
    const { pool } = await poolOf({ max: 1 });
    const removed: pg.PoolClient[] = [];
    pool.on('remove', (c) => removed.push(c));
    const before = await pidOf(pool);
    await expect(pool.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    expect(await pidOf(pool)).toBe(before);
    expect(removed).toHaveLength(0);

    // The session is ended under a running query: the query fails, the client goes.
    const running = pool.query('SELECT pg_sleep(5)');
    await eventually(() => sessions(postgres), (s) => s.some((x) => x.pid === before), 2000, 'the session');
    await asAdmin(postgres, (admin) => admin.query('SELECT pg_terminate_backend($1)', [before]));
    await expect(running).rejects.toMatchObject({ code: '57P01' });
    await eventually(async () => removed.length, (n) => n === 1, 2000, 'the broken client removed');
    const after = await pidOf(pool);
    expect(after).not.toBe(before);
    expect(pool.totalCount).toBe(1);
  });

  it('checks clients out and back: release(), release(true) and release(err) discard, double release throws, callback form gets done', async () => {
    const { pool } = await poolOf({ max: 2 });
    const events: string[] = [];
    for (const name of ['connect', 'acquire', 'remove'] as const) pool.on(name, () => events.push(name));
    pool.on('release', (err) => events.push(`release:${err === undefined ? '-' : err === true ? 'true' : 'err'}`));

    const a = await pool.connect();
    const pidA = await pidOf(a);
    a.release();
    expect(() => a.release()).toThrow('Release called on client which has already been released to the pool.');
    const again = await pool.connect();
    expect(again).toBe(a); // reused
    again.release(true); // discarded
    await eventually(async () => events.filter((e) => e === 'remove').length, (n) => n === 1, 2000, 'remove');

    const b = await pool.connect();
    expect(await pidOf(b)).not.toBe(pidA);
    b.release(new Error('the caller saw something wrong'));
    await eventually(async () => events.filter((e) => e === 'remove').length, (n) => n === 2, 2000, 'remove');

    const viaCallback = await new Promise<{ client: pg.PoolClient; done: (r?: Error | boolean) => void }>((resolve, reject) =>
      pool.connect((err, client, done) => (err ? reject(err) : resolve({ client: client!, done }))),
    );
    expect((await viaCallback.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    viaCallback.done();
    expect(pool.idleCount).toBe(1);
    expect(events).toEqual(['connect', 'acquire', 'release:-', 'acquire', 'release:true', 'remove', 'connect', 'acquire', 'release:err', 'remove', 'connect', 'acquire', 'release:-']);
  });

  it('counts total, idle and waiting clients like pg.Pool, and a waiting checkout gets the next release', async () => {
    const { pool } = await poolOf({ max: 2 });
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([0, 0, 0]);
    const a = await pool.connect();
    const b = await pool.connect();
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([2, 0, 0]);
    const third = pool.connect();
    expect(pool.waitingCount).toBe(1);
    a.release();
    expect(await third).toBe(a);
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([2, 0, 0]);
    a.release();
    b.release();
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([2, 2, 0]);
  });

  it('times a wait out after connectionTimeoutMillis, and closes idle clients after idleTimeoutMillis', async () => {
    const { pool } = await poolOf({ max: 1, connectionTimeoutMillis: 100, idleTimeoutMillis: 50 });
    const held = await pool.connect();
    await expect(pool.connect()).rejects.toMatchObject({ code: 'POOL_TIMEOUT' });
    held.release();
    expect(pool.idleCount).toBe(1);
    await nextEvent(pool, 'remove', 2000);
    expect(pool.totalCount).toBe(0);
  });

  it('discards a client released inside a transaction, so that nobody inherits it', async () => {
    const { pool } = await poolOf({ max: 1 });
    const client = await pool.connect();
    const pid = await pidOf(client);
    await client.query('BEGIN');
    await client.query(`INSERT INTO ledger (worker, who) VALUES (0, 'left open')`);
    client.release();
    expect(await pidOf(pool)).not.toBe(pid);
    expect((await pool.query(`SELECT count(*)::int AS n FROM ledger WHERE who = 'left open'`)).rows[0]).toEqual({ n: 0 });
  });

  it("reports an idle client's failure on 'error' and drops it at once; without a listener it is a warning, not a crash", async () => {
    const { pool } = await poolOf({ max: 3 });
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const pids = await Promise.all(clients.map((c) => pidOf(c)));
    for (const c of clients) c.release();
    expect(pool.idleCount).toBe(3);

    const failed = nextEvent<Error>(pool, 'error', 2000);
    const removed = nextEvent(pool, 'remove', 2000);
    await asAdmin(postgres, (admin) => admin.query('SELECT pg_terminate_backend($1)', [pids[1]]));
    await expect(failed).resolves.toMatchObject({ code: '57P01' });
    await removed;
    expect([pool.totalCount, pool.idleCount]).toEqual([2, 2]);
    const remaining = await Promise.all([pool.connect(), pool.connect()]);
    expect(await Promise.all(remaining.map((c) => pidOf(c)))).toEqual(expect.not.arrayContaining([pids[1]]));
    for (const c of remaining) c.release();

    pool.removeAllListeners('error');
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      await asAdmin(postgres, (admin) => admin.query('SELECT pg_terminate_backend($1)', [pids[0]]));
      await eventually(async () => pool.totalCount, (n) => n === 1, 2000, 'the failed client dropped');
      expect(emitWarning).toHaveBeenCalledWith(expect.stringContaining('an idle PostgreSQL client failed'), { code: 'KEYWARD_PG_IDLE_CLIENT_ERROR' });
    } finally {
      emitWarning.mockRestore();
    }
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('ends once however often asked (promise or callback), closing every client; checkouts are then refused', async () => {
    const { pool } = await poolOf({ max: 2 });
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
    expect(pool.totalCount).toBe(2);
    const ended = pool.end();
    expect(pool.ending).toBe(true);
    const viaCallback = new Promise<Error | undefined>((resolve) => pool.end((err) => resolve(err)));
    await ended;
    await expect(viaCallback).resolves.toBeUndefined();
    expect([pool.ended, pool.totalCount]).toEqual([true, 0]);
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await eventually(() => sessions(postgres), (s) => s.every((x) => x.user !== 'app'), 2000, 'no session left');
  });

  it('takes { user, password } as well as { username, password }, and a connection string whose own login it ignores', async () => {
    const { pool } = await poolOf({}, { user: 'app', password });
    expect((await pool.query('SELECT current_user AS who')).rows[0]).toEqual({ who: 'app' });

    const { store } = await storeWith({ username: 'app', password });
    const fromUrl = new KeywardPgPool({
      store,
      secret: 'database',
      connectionString: `postgresql://someone:wrong@127.0.0.1:${postgres.port}/${postgres.database}?application_name=from-url`,
    });
    pools.push(fromUrl);
    expect((await fromUrl.query('SELECT current_user AS who, current_setting($1) AS app', ['application_name'])).rows[0]).toEqual({ who: 'app', app: 'from-url' });
  });

  it('refuses incomplete options and malformed credentials with codes, quoting no value', async () => {
    const { store } = await storeWith({ username: 'app', password });
    expect(() => new KeywardPgPool({ host: '127.0.0.1' } as unknown as KeywardPgPoolOptions)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => new KeywardPgPool({ store } as unknown as KeywardPgPoolOptions)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => new KeywardPgPool({ store, secret: 'database', connectionString: `not a url ${password}` })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.not.stringContaining(password) }),
    );
    const { pool } = await poolOf({}, { login: 'app', secret: password });
    const err = (await pool.query('SELECT 1').catch((e: unknown) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ code: 'SECRET_INVALID', message: expect.stringContaining('keys present: login, secret') });
    expect(err.message).not.toContain(password);
  });

  it('moves to rotated credentials, names each generation in application_name, and passes the credential pool events on', async () => {
    const { pool, store, memory } = await poolOf({ max: 2, applicationName: ({ version }) => `keyward-${version}` });
    const seen: string[] = [];
    pool.on('generation', (e) => seen.push(`generation:${e.version}`));
    pool.on('drained', (e) => seen.push(`drained:${e.version}`));
    const app = async () => (await pool.query<{ app: string }>(`SELECT current_setting('application_name') AS app`)).rows[0]!.app;
    expect(await app()).toBe('keyward-v1');

    const next = randomPassword('canary');
    memory.values['database'] = { username: 'app', password: next };
    await setPassword(postgres, 'app', next);
    const drained = nextEvent(pool, 'drained', 5000);
    await store.refresh('database');
    await drained;
    expect(await app()).toBe('keyward-v2');
    expect(seen).toEqual(['generation:v2', 'drained:v1']);
    await eventually(() => sessions(postgres), (s) => s.every((x) => x.applicationName === 'keyward-v2'), 2000, 'only v2 sessions');
    expect(pool.stats()).toMatchObject({ generations: [{ version: 'v2', state: 'active' }] });
    await setPassword(postgres, 'app', password);
  });

  it('never shows a password: not in inspect or JSON of the pool, its stats, its clients, or a refused login', async () => {
    const { pool, store, memory } = await poolOf({ max: 2, retryBackoff: 20 });
    const client = await pool.connect();
    const texts = [inspect(pool, { depth: 6 }), JSON.stringify(pool.stats()), inspect(client, { depth: 3 }), inspect((client as unknown as { connectionParameters: unknown }).connectionParameters, { depth: 3 })];
    client.release();

    const wrong = randomPassword('canary');
    const failed = nextEvent<{ error: Error }>(pool, 'generationFailed', 3000);
    memory.values['database'] = { username: 'app', password: wrong }; // the database does not know it
    await store.refresh('database');
    const { error } = await failed;
    texts.push(String(error), inspect(error), JSON.stringify(error));
    for (const text of texts) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(wrong);
    }
    expect((await pool.query('SELECT current_user AS who')).rows[0]).toEqual({ who: 'app' }); // still on the old credentials
  });
});
