// Queries per second, p99 latency and failed queries of a Keyward pool and of a plain pg.Pool
// with a password function (the best node-postgres offers), side by side on the same embedded
// PostgreSQL: in steady state, and while the credentials rotate
//   - single-user: the password changes (ALTER ROLE), the username stays;
//   - dynamic users: each rotation is a new user (as Vault's database engine issues), and the
//     old user is revoked (sessions ended, role dropped) once the store lets its lease go.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { SecretStore, type SecretLease, type SecretProvider } from '@keyward/core';
import { KeywardPgPool } from '@keyward/pg';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import pg from 'pg';
import { report, round } from './report.js';

const WORKERS = 32;
const MAX = 10;
const WARMUP_MS = 1000;
const STEADY_MS = 2000;
const ROTATING_MS = 3000;
const ROTATIONS = 5;

type Scenario = 'single-user' | 'dynamic-users';
interface Phase {
  queries: number;
  failed: number;
  latencies: number[];
  ms: number;
}
interface Result {
  steady: Phase;
  rotating: Phase;
}
interface Queryable {
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}

/** Credentials the bench controls: each `next()` makes new ones on the server, then the store sees them. */
class RotatingCredentials {
  value: { username: string; password: string };
  #n = 0;
  readonly provider: SecretProvider;

  constructor(
    private readonly admin: pg.Client,
    private readonly scenario: Scenario,
  ) {
    this.value = { username: '', password: '' };
    this.provider = {
      kind: 'bench',
      locate: () => 'bench:database',
      read: async () => ({ value: { ...this.value }, lease: this.lease() }),
      revoke: (lease) => this.revoke(lease),
    };
  }

  async next(): Promise<void> {
    const n = ++this.#n;
    const password = randomBytes(12).toString('hex');
    if (this.scenario === 'single-user') {
      const username = 'bench_app';
      await this.admin.query(n === 1 ? `CREATE ROLE ${username} LOGIN PASSWORD '${password}'` : `ALTER ROLE ${username} PASSWORD '${password}'`);
      this.value = { username, password };
    } else {
      const username = `bench_app_${n}_${randomBytes(3).toString('hex')}`;
      await this.admin.query(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
      this.value = { username, password };
    }
  }

  lease(): SecretLease | undefined {
    if (this.scenario === 'single-user') return undefined;
    return { id: this.value.username, ttlMs: 3_600_000, renewable: false, issuedAt: new Date() };
  }

  /** What Vault does when a lease is revoked: end the user's sessions and drop it. */
  async revoke(lease: SecretLease): Promise<void> {
    await this.admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [lease.id]);
    await this.admin.query(`DROP ROLE IF EXISTS ${lease.id}`);
  }
}

async function runWorkers(pool: Queryable, ms: number, during?: () => Promise<void>): Promise<Phase> {
  const phase: Phase = { queries: 0, failed: 0, latencies: [], ms };
  const deadline = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await pool.query('SELECT 1');
        phase.queries++;
        phase.latencies.push(performance.now() - start);
      } catch {
        phase.failed++;
        // A failing pool fails fast: pace the retries like a client would, so the loop stays bounded.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all([...Array.from({ length: WORKERS }, worker), during?.()]);
  return phase;
}

async function runOne(postgres: RunningPostgres, scenario: Scenario, kind: 'keyward' | 'keyward-surge' | 'pg.Pool'): Promise<Result> {
  const admin = await postgres.connect();
  const credentials = new RotatingCredentials(admin, scenario);
  await credentials.next();
  const store = await new SecretStore({
    app: 'bench',
    environment: 'bench',
    providers: { bench: credentials.provider },
    secrets: { database: { refresh: false } },
  }).start();
  const address = { host: '127.0.0.1', port: postgres.port, database: postgres.database };
  const firstUser = credentials.value.username;
  const pool: Queryable =
    kind !== 'pg.Pool'
      ? new KeywardPgPool({ store, secret: 'database', ...address, max: MAX, ...(kind === 'keyward-surge' ? { rotationSurge: MAX } : {}) })
      : new pg.Pool({
          ...address,
          max: MAX,
          user: firstUser,
          // Reads the store's current password for each new connection; the user cannot change.
          password: async () => (store.get('database').reveal() as { password: string }).password,
        });
  // Expected errors of the plain pool (terminated sessions) must not crash the bench.
  (pool as unknown as NodeJS.EventEmitter).on('error', () => {});
  try {
    await runWorkers(pool, WARMUP_MS); // connections opened, code paths warm: not measured
    const steady = await runWorkers(pool, STEADY_MS);
    const rotating = await runWorkers(pool, ROTATING_MS, async () => {
      for (let i = 0; i < ROTATIONS; i++) {
        await new Promise((r) => setTimeout(r, ROTATING_MS / (ROTATIONS + 1)));
        await credentials.next();
        await store.refresh('database');
      }
    });
    return { steady, rotating };
  } finally {
    await pool.end().catch(() => {});
    await store.close();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'bench_app%'`);
    for (const { rolname } of (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'bench_app%'`)).rows) {
      await admin.query(`DROP ROLE ${rolname}`);
    }
    await admin.end();
  }
}

function p99(latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

const qps = (p: Phase) => (p.queries * 1000) / p.ms;
const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b, 2));

export async function run(): Promise<void> {
  const postgres = await startEmbeddedPostgres();
  try {
    const results: Record<string, { keyward: Result; surge: Result; plain: Result }> = {};
    for (const scenario of ['single-user', 'dynamic-users'] as const) {
      results[scenario] = {
        keyward: await runOne(postgres, scenario, 'keyward'),
        surge: await runOne(postgres, scenario, 'keyward-surge'),
        plain: await runOne(postgres, scenario, 'pg.Pool'),
      };
    }
    const setup = { workers: WORKERS, max: MAX, steadyMs: STEADY_MS, rotatingMs: ROTATING_MS, rotations: ROTATIONS, query: 'SELECT 1' };
    const steadyK = results['single-user']!.keyward.steady;
    const steadyP = results['single-user']!.plain.steady;
    report({
      name: 'pg-pool.steady.qps',
      unit: 'queries/s',
      value: round(qps(steadyK)),
      comparison: { against: 'pg.Pool with a password function', pgPool: round(qps(steadyP)), ratio: ratio(qps(steadyK), qps(steadyP)), ...setup },
    });
    report({
      name: 'pg-pool.steady.p99',
      unit: 'ms',
      value: round(p99(steadyK.latencies), 2),
      comparison: { against: 'pg.Pool with a password function', pgPool: round(p99(steadyP.latencies), 2), ratio: ratio(p99(steadyK.latencies), p99(steadyP.latencies)) },
    });
    for (const scenario of ['single-user', 'dynamic-users'] as const) {
      const { keyward, surge, plain } = results[scenario]!;
      report({
        name: `pg-pool.rotating.${scenario}.qps`,
        unit: 'queries/s',
        value: round(qps(keyward.rotating)),
        comparison: { against: 'pg.Pool with a password function', pgPool: round(qps(plain.rotating)), ratio: ratio(qps(keyward.rotating), qps(plain.rotating)), ...setup },
      });
      report({
        name: `pg-pool.rotating.${scenario}.p99`,
        unit: 'ms',
        value: round(p99(keyward.rotating.latencies), 2),
        comparison: { against: 'pg.Pool with a password function', pgPool: round(p99(plain.rotating.latencies), 2), ratio: ratio(p99(keyward.rotating.latencies), p99(plain.rotating.latencies)) },
      });
      const spike = (result: Result) => ({
        ratio: round(p99(result.rotating.latencies) / p99(result.steady.latencies), 2),
        rotatingP99: round(p99(result.rotating.latencies), 2),
        steadyP99: round(p99(result.steady.latencies), 2),
      });
      const { ratio: plainSpike } = spike(plain);
      const withoutSurge = spike(keyward);
      const withSurge = spike(surge);
      report({
        name: `pg-pool.rotating.${scenario}.p99-to-steady`,
        unit: 'ratio',
        value: withoutSurge.ratio,
        comparison: {
          against: "the same pool's p99 before the rotations (steady phase of this scenario)",
          rotatingP99: withoutSurge.rotatingP99,
          steadyP99: withoutSurge.steadyP99,
          pgPoolRatio: plainSpike,
          target: 1.5,
          ...setup,
        },
      });
      report({
        name: `pg-pool.rotating.${scenario}.surge.p99-to-steady`,
        unit: 'ratio',
        value: withSurge.ratio,
        comparison: {
          against: "the same pool's p99 before the rotations, with rotationSurge: max (the new credentials open as many connections as the old ones have before taking over)",
          rotatingP99: withSurge.rotatingP99,
          steadyP99: withSurge.steadyP99,
          withoutSurge: withoutSurge.ratio,
          failedQueries: surge.rotating.failed + surge.steady.failed,
          rotationSurge: MAX,
          target: 1.5,
          ...setup,
        },
      });
      report({
        name: `pg-pool.rotating.${scenario}.failed-queries`,
        unit: 'queries',
        value: keyward.rotating.failed + keyward.steady.failed,
        comparison: { against: 'pg.Pool with a password function', pgPool: plain.rotating.failed + plain.steady.failed, completedKeyward: keyward.rotating.queries, completedPgPool: plain.rotating.queries },
      });
    }
  } finally {
    await postgres.stop();
  }
}
