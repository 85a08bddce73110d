import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore } from '@keyward/core';
import { createMysqlPool, type MysqlPool } from '@keyward/mysql2';
import { canary, nextEvent, waitFor } from '@keyward/test-support';
import {
  eventually,
  leasedLogins,
  MARIADB,
  mariadbSandbox,
  startQueryLoad,
  type Login,
  type MariadbSandbox,
} from '@keyward/test-support/mariadb';

const WORKERS = 50;
const ROTATIONS = 10;
/** Statements the workers finish on each new generation before the next rotation. */
const QUERIES_PER_GENERATION = 300;

// Vault's database engine: every rotation is a new user with its own password, and revoking the
// old lease drops the old user. The pool must let go of the old user before that happens.
describe('MysqlPool with a new MariaDB user on every rotation (dynamic credentials)', () => {
  let db: MariadbSandbox;

  beforeAll(async () => {
    db = await mariadbSandbox('dyn');
    await db.admin.query(`CREATE TABLE \`${db.database}\`.events (id BIGINT AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, n INT NOT NULL, KEY by_worker (worker))`);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it(`keeps ${WORKERS} workers at 0 failed queries through ${ROTATIONS} rotations, and drops each old user only after its connections closed`, async () => {
    const newLogin = async (n: number): Promise<Login> => {
      const login = { username: `${db.prefix}_${n}`, password: canary(`pw${n}`) };
      await db.createUser(login.username, login.password);
      return login;
    };
    let pool: MysqlPool | undefined;
    /** Revocations that found a generation of the revoked login still in the pool. */
    const revokedTooEarly: string[] = [];
    const versionOf = new Map<string, string>(); // username -> version
    const logins = leasedLogins(await newLogin(1), async (login) => {
      const version = versionOf.get(login.username)!;
      if (pool?.stats().generations.some((g) => g.version === version)) revokedTooEarly.push(login.username);
      await db.dropUser(login.username);
    });
    versionOf.set(`${db.prefix}_1`, 'v1');
    const store = await new SecretStore({
      app: 'kw',
      environment: 'test',
      providers: { test: logins.provider },
      secrets: { database: {} },
      refresh: false,
    }).start();
    pool = createMysqlPool({
      store,
      secret: 'database',
      connection: { ...MARIADB, database: db.database },
      connectionLimit: 10,
      min: 2,
      drainTimeout: '10s',
    });
    const switches: { id: number; version: string }[] = [];
    const drains: { version: string; closedIdle: number; closedOnRelease: number; forced: number }[] = [];
    pool.on('generation', (e) => switches.push(e));
    pool.on('drained', (e) => drains.push(e));
    let peak = 0; // connections open at once, across generations
    pool.on('connection', () => (peak = Math.max(peak, pool!.stats().total)));
    const sessionWaits: number[] = [];

    const load = startQueryLoad(pool, { workers: WORKERS, table: 'events', maxMs: 25_000 });
    const rotate = async (p: MysqlPool) => {
      await waitFor(() => load.done() >= QUERIES_PER_GENERATION, 5000, 'the first queries');
      for (let n = 2; n <= ROTATIONS + 1; n++) {
        const old = `${db.prefix}_${n - 1}`;
        const login = await newLogin(n);
        const version = logins.serve(login);
        versionOf.set(login.username, version);
        const switched = nextEvent(p, 'generation', 5000, (e: { version: string }) => e.version === version);
        const revoked = nextEvent(store, 'leaseRevoked', 10_000);
        await store.refresh('database');
        await switched;
        await revoked; // the old generation drained, then the store revoked its lease: DROP USER
        expect(await db.userExists(old)).toBe(false);
        // The last old connections' COM_QUIT may still be on its way; the server ends those sessions right after.
        sessionWaits.push(await eventually(async () => (await db.sessions()).every((s) => s.user === login.username), 3000, `only ${login.username} sessions`));
        const before = load.done();
        await waitFor(() => load.done() >= before + QUERIES_PER_GENERATION, 5000, 'queries on the new generation');
      }
    };
    const outcome = await rotate(pool).catch((err: unknown) => err ?? new Error('rotation failed'));
    const report = await load.stop();
    await pool.end();
    await store.close();
    if (outcome !== undefined) throw outcome;

    console.log(
      `dynamic users: ${report.queries} statements (${report.reads} reads, ${report.writes} writes, ${report.transactions} transactions) ` +
        `in ${report.ms} ms by ${WORKERS} workers, ${switches.length} rotations, ${report.failures.length} failed; ` +
        `drains ${JSON.stringify(drains.map(({ closedIdle, closedOnRelease, forced }) => [closedIdle, closedOnRelease, forced]))}; ` +
        `waits for old sessions to end (ms) ${JSON.stringify(sessionWaits)}; at most ${peak} connections open`,
    );
    expect(report.failures).toEqual([]);
    expect(switches).toHaveLength(ROTATIONS);
    expect(drains).toHaveLength(ROTATIONS + 1); // the ten old generations, and the last one at end()
    expect(drains.every((d) => d.forced === 0)).toBe(true);
    expect(revokedTooEarly).toEqual([]);
    expect(logins.revoked.map((l) => l.username)).toEqual(Array.from({ length: ROTATIONS }, (_, i) => `${db.prefix}_${i + 1}`));
    const [users] = await db.admin.query('SELECT User AS user FROM mysql.user WHERE LEFT(User, ?) = ?', [db.prefix.length, db.prefix]);
    expect(users).toEqual([{ user: `${db.prefix}_${ROTATIONS + 1}` }]);
    await eventually(async () => (await db.sessions()).length === 0, 3000, 'no sessions after end()');
  }, 30_000);
});
