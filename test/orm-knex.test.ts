import { describe, expect, it } from '@jest/globals';
import { knexConnection } from '@keyward/pg';
import knexFactory, { type Knex } from 'knex';
import { postgresWithLoginRole, eventually, LEDGER_TABLE, memoryStore, randomPassword, sessions, setPassword, tryLogin } from '@keyward/test-support/postgres';

const ROTATIONS = 3;
const WORKERS = 15;

describe('@keyward/pg knexConnection: Knex on a secret whose password changes 3 times under 15 workers', () => {
  const initial = randomPassword('knex');

  const cluster = postgresWithLoginRole('billing', initial);

  it('fails no query, and Knex logs in with each new password', async () => {
    const { store, memory } = await memoryStore({ username: 'billing', password: initial });
    const db: Knex = knexFactory({
      client: 'pg',
      connection: knexConnection({ store, secret: 'database', host: '127.0.0.1', port: cluster.postgres.port, database: cluster.postgres.database, applicationName: ({ version }) => `knex-${version}` }),
      // Short-lived connections, so that new ones (with the new config) replace old ones while the work goes on.
      pool: { min: 0, max: 6, idleTimeoutMillis: 200, reapIntervalMillis: 50, maxConnectionLifetimeMillis: 300, propagateCreateError: false, createRetryIntervalMillis: 50 },
      acquireConnectionTimeout: 10_000,
    });
    let refusedLogins = 0;
    db.client.pool.on('createFail', () => refusedLogins++);

    const failures: string[] = [];
    const readsByApp = new Map<string, number>();
    let queries = 0;
    let stopped = false;
    const deadline = Date.now() + 15_000;
    async function worker(id: number): Promise<void> {
      while (!stopped && Date.now() < deadline) {
        try {
          await db(LEDGER_TABLE).insert({ worker: id, who: db.raw('current_user') });
          queries++;
          const { rows } = await db.raw<{ rows: { app: string; n: string }[] }>(`SELECT current_setting('application_name') AS app, count(*) AS n FROM ${LEDGER_TABLE} WHERE worker = ?`, [id]);
          queries++;
          const app = rows[0]!.app;
          readsByApp.set(app, (readsByApp.get(app) ?? 0) + 1);
        } catch (err) {
          failures.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
        }
      }
    }
    const until = (app: string, reads: number) => eventually(async () => readsByApp.get(app) ?? 0, (n) => n >= reads || stopped, 10_000, `${reads} reads on ${app}`);

    const started = Date.now();
    const running = Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i + 1)));
    const versions = [store.get('database')!.version];
    try {
      await until(`knex-${versions[0]}`, 50);
      for (let n = 1; n <= ROTATIONS; n++) {
        const password = randomPassword('knex');
        // As a single-user rotation does it: the database first, then the secret.
        await setPassword(cluster.postgres, 'billing', password);
        memory.values['database'] = { username: 'billing', password };
        await store.refresh('database');
        versions.push(store.get('database')!.version);
        await until(`knex-${versions.at(-1)}`, 50);
      }
    } finally {
      stopped = true;
      await running;
    }

    // Every connection left is of the last password; once idle, Knex closes them all.
    await eventually(() => sessions(cluster.postgres), (s) => s.every((x) => x.applicationName === `knex-${versions.at(-1)}`), 3000, 'only sessions of the last password');
    await eventually(async () => db.client.pool.numFree() + db.client.pool.numUsed(), (n) => n === 0, 3000, 'the idle connections closed');
    const fresh = await db.raw<{ rows: { who: string; app: string }[] }>(`SELECT current_user AS who, current_setting('application_name') AS app`);
    await db.destroy();
    await store.close();
    process.stdout.write(`${JSON.stringify({ scenario: 'knex single-user rotation', workers: WORKERS, rotations: ROTATIONS, queries, failures: failures.length, refusedLogins, readsByApp: Object.fromEntries(readsByApp), elapsedMs: Date.now() - started })}\n`);

    expect(failures).toEqual([]);
    expect(versions).toEqual(['v1', 'v2', 'v3', 'v4']);
    for (const version of versions) expect(readsByApp.get(`knex-${version}`) ?? 0).toBeGreaterThanOrEqual(50);
    expect(fresh.rows[0]).toEqual({ who: 'billing', app: `knex-${versions.at(-1)}` });
    const last = (memory.values['database'] as { password: string }).password;
    expect(await tryLogin(cluster.postgres, 'billing', last)).toBe('ok');
    expect(await tryLogin(cluster.postgres, 'billing', initial)).toBe('28P01');
  }, 20_000);
});
