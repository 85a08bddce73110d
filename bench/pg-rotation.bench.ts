// Queries per second, p99 latency and failed queries of a Keyward pool and of a plain pg.Pool
// with a password function (the best node-postgres offers), side by side on the same embedded
// PostgreSQL: in steady state, and while the credentials rotate
//   - single-user: the password changes (ALTER ROLE), the username stays;
//   - dynamic users: each rotation is a new user (as Vault's database engine issues), and the
//     old user is revoked (sessions ended, role dropped) once the store lets its lease go.
import { randomBytes } from 'node:crypto';
import { KeywardPgPool } from '@keyward/pg';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import pg from 'pg';
import { MAX, measurePool, measureScenarios, reportRotation, type BenchLogins, type PoolKind, type Result, type Scenario } from './rotation-load.js';

/** Roles on the embedded PostgreSQL, made as its superuser. */
function pgLogins(admin: pg.Client, scenario: Scenario): BenchLogins {
  return {
    async login(n, password) {
      if (scenario === 'single-user') {
        const username = 'bench_app';
        await admin.query(n === 1 ? `CREATE ROLE ${username} LOGIN PASSWORD '${password}'` : `ALTER ROLE ${username} PASSWORD '${password}'`);
        return username;
      }
      const username = `bench_app_${n}_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
      return username;
    },
    async revoke(username) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [username]);
      await admin.query(`DROP ROLE IF EXISTS ${username}`);
    },
    async dropAll() {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'bench_app%'`);
      for (const { rolname } of (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'bench_app%'`)).rows) {
        await admin.query(`DROP ROLE ${rolname}`);
      }
    },
  };
}

async function runOne(postgres: RunningPostgres, scenario: Scenario, kind: PoolKind): Promise<Result> {
  const admin = await postgres.connect();
  const address = { host: '127.0.0.1', port: postgres.port, database: postgres.database };
  try {
    return await measurePool(scenario, pgLogins(admin, scenario), (store, first) =>
      kind !== 'plain'
        ? new KeywardPgPool({ store, secret: 'database', ...address, max: MAX, ...(kind === 'keyward-surge' ? { rotationSurge: MAX } : {}) })
        : new pg.Pool({
            ...address,
            max: MAX,
            user: first.username,
            // Reads the store's current password for each new connection; the user cannot change.
            password: async () => (store.get('database').reveal() as { password: string }).password,
          }),
    );
  } finally {
    await admin.end();
  }
}

export async function run(): Promise<void> {
  const postgres = await startEmbeddedPostgres();
  try {
    const results = await measureScenarios((scenario, kind) => runOne(postgres, scenario, kind));
    reportRotation('pg-pool', { against: 'pg.Pool with a password function', key: 'pgPool' }, results);
  } finally {
    await postgres.stop();
  }
}
