import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type KeywardError } from '@keyward/core';
import { createMysqlPool, type MysqlPool, type MysqlPoolOptions } from '@keyward/mysql2';
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { canary, expectNoCanary, memoryProvider, nextEvent, waitFor } from '@keyward/test-support';
import { MARIADB, mariadbSandbox, type MariadbSandbox } from '@keyward/test-support/mariadb';

describe('createMysqlPool on the machine MariaDB', () => {
  let db: MariadbSandbox;
  const first = { username: '', password: canary('first-password') };
  const second = { username: '', password: canary('second-password') };
  const open: { end(): Promise<void> }[] = [];

  beforeAll(async () => {
    db = await mariadbSandbox('pool');
    first.username = `${db.prefix}_1`;
    second.username = `${db.prefix}_2`;
    await db.createUser(first.username, first.password);
    await db.createUser(second.username, second.password);
    await db.admin.query(`CREATE TABLE \`${db.database}\`.notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100) NOT NULL)`);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.end()));
  });
  afterAll(async () => {
    await db?.dispose();
  });

  /** A store serving `database` from memory, and a pool on it. */
  async function setup(options: Partial<MysqlPoolOptions> = {}) {
    const provider = memoryProvider({ database: { ...first } });
    const store = await new SecretStore({ app: 'kw', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false }).start();
    open.push({ end: () => store.close() });
    const pool = createMysqlPool({
      store,
      secret: 'database',
      connection: { ...MARIADB, database: db.database },
      connectionLimit: 2,
      ...options,
    } as MysqlPoolOptions);
    open.unshift(pool); // ends before the store closes
    return { provider, store, pool };
  }

  it("answers query(), execute() and getConnection() as mysql2's promise pool does, with its events", async () => {
    const { pool } = await setup();
    const seen: string[] = [];
    for (const event of ['connection', 'acquire', 'release', 'enqueue'] as const) pool.on(event, () => seen.push(event));

    const [inserted] = await pool.execute<ResultSetHeader>('INSERT INTO notes (body) VALUES (?)', ['hello']);
    expect(inserted.affectedRows).toBe(1);
    const [rows, fields] = await pool.query<RowDataPacket[]>('SELECT id, body FROM notes WHERE id = ?', [inserted.insertId]);
    expect(rows).toEqual([{ id: inserted.insertId, body: 'hello' }]);
    expect(fields.map((f) => f.name)).toEqual(['id', 'body']);
    expect(seen).toEqual(['connection', 'acquire', 'release', 'acquire', 'release']); // one connection, reused

    const a = await pool.getConnection();
    const b = await pool.getConnection();
    const [[who]] = await a.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id, CURRENT_USER() AS user');
    expect(who).toEqual({ id: a.threadId, user: `${first.username}@%` });
    const waiting = pool.getConnection(); // both busy, at connectionLimit
    expect(seen.at(-1)).toBe('enqueue');
    expect(pool.stats()).toMatchObject({ total: 2, busy: 2, waiting: 1 });
    pool.releaseConnection(b);
    const c = await waiting;
    expect(c.threadId).toBe(b.threadId);
    await expect(b.query('SELECT 1')).rejects.toMatchObject({ code: 'POOL_CLOSED' }); // released: not ours any more
    b.release(); // twice changes nothing
    a.release();
    c.release();
    expect(pool.stats()).toMatchObject({ total: 2, idle: 2, busy: 0 });
    expect([...pool.stats().generations[0]!.threadIds].sort()).toEqual([a.threadId, b.threadId].sort());
  });

  it('keeps a connection after an SQL error, and discards one that broke, whether in use or idle, without crashing', async () => {
    const { pool } = await setup();
    const opened: Connection[] = [];
    pool.on('connection', (c) => opened.push(c));

    const conn = await pool.getConnection();
    await expect(conn.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ errno: 1146 });
    const threadId = conn.threadId;
    conn.release();
    expect(pool.stats()).toMatchObject({ total: 1, idle: 1 });
    const again = await pool.getConnection();
    expect(again.threadId).toBe(threadId); // an SQL error is no reason to drop a connection

    // Killed while checked out: the statement fails (fatal), release() discards the connection.
    await db.admin.query(`KILL ${threadId}`);
    await expect(again.query('SELECT 1')).rejects.toMatchObject({ fatal: true });
    again.release();
    expect(pool.stats().total).toBe(0);

    // Killed while idle, with an 'error' listener: it hears of it; the next checkout gets a new connection.
    await pool.query('SELECT 1');
    const errors: Error[] = [];
    pool.on('error', (e) => errors.push(e));
    const idle = pool.stats().generations[0]!.threadIds[0]!;
    await db.admin.query(`KILL ${idle}`);
    await waitFor(() => errors.length === 1, 3000, "the pool's error event");
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    const id = row!['id'] as number;
    expect(id).not.toBe(idle);

    // Killed while idle with nobody listening: the process goes on, the connection is not lent again.
    pool.removeAllListeners('error');
    const ended = new Promise((resolve) => opened.at(-1)!.once('end', resolve));
    await db.admin.query(`KILL ${id}`);
    await ended;
    await new Promise((resolve) => setImmediate(resolve)); // mysql2 reports the loss right after 'end'
    const [[next]] = await pool.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    expect(next!['id']).not.toBe(id);
    expect(pool.stats().generations[0]!.threadIds).toEqual([next!['id']]);
  });

  it('rejects a statement still running at drainTimeout with POOL_CLOSED instead of keeping the old connection until it ends', async () => {
    const { provider, store, pool } = await setup({ drainTimeout: 200 });
    const stuck = await pool.getConnection();
    const sleeping = stuck.query('SELECT SLEEP(2)');
    const drained = nextEvent<{ forced: number }>(pool, 'drained', 5000);
    provider.values['database'] = { ...second };
    await store.refresh('database');
    await expect(sleeping).rejects.toMatchObject({ code: 'POOL_CLOSED' } satisfies Partial<KeywardError>);
    await expect(drained).resolves.toMatchObject({ forced: 1 });
    stuck.release();
    const [[who]] = await pool.query<RowDataPacket[]>('SELECT CURRENT_USER() AS user');
    expect(who!['user']).toBe(`${second.username}@%`);
  });

  it('never shows a password in inspect(), JSON, events or errors, not even a refused one', async () => {
    const { provider, store, pool } = await setup();
    const texts: Record<string, string> = {};
    let n = 0;
    for (const event of ['connection', 'generation', 'generationFailed', 'drained', 'authRetry', 'acquire', 'release'] as const) {
      pool.on(event, (payload: unknown) => void (texts[`${event} #${++n}`] = inspect(payload, { depth: 8 })));
    }
    const conn = await pool.getConnection();
    await conn.query('SELECT 1');
    texts['pooled connection'] = inspect(conn, { depth: 8 });
    texts['mysql2 connection'] = inspect(conn.connection, { depth: 8 });
    texts['mysql2 config as JSON'] = JSON.stringify({ ...(conn.connection as unknown as { connection: { config: object } }).connection.config });
    conn.release();

    const wrong = { username: second.username, password: canary('wrong-password') };
    provider.values['database'] = wrong;
    const failed = nextEvent<{ error: unknown }>(pool, 'generationFailed', 5000);
    await store.refresh('database');
    const { error } = await failed;
    expect(error).toMatchObject({ errno: 1045 });
    texts['refused login'] = `${inspect(error, { depth: 8 })} ${(error as Error).stack}`;
    texts['pool'] = inspect(pool, { depth: 8 });
    texts['stats'] = JSON.stringify(pool.stats());
    expectNoCanary(texts, first.password, second.password, wrong.password);
  });
});
