// What the pool rotation benchmarks (pg-rotation, mysql-rotation) share: credentials that rotate
// through a SecretStore, workers running `SELECT 1` through a pool in a steady phase and while the
// credentials rotate, and the `<prefix>.steady.*` / `<prefix>.rotating.<scenario>.*` lines
// comparing a Keyward pool (with and without rotationSurge) to the driver's own pool. Each bench
// brings its database server (how to make, change and revoke a login) and its pools.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SecretStore, type SecretLease, type SecretProvider } from '@keyward/core';
import { report, round } from './report.js';

export const WORKERS = 32;
export const MAX = 10;
const WARMUP_MS = 1000;
const STEADY_MS = 2000;
const ROTATING_MS = 3000;
const ROTATIONS = 5;

/** single-user: the password changes, the username stays; dynamic-users: each rotation is a new user, the old one revoked. */
export const SCENARIOS = ['single-user', 'dynamic-users'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Phase {
  queries: number;
  failed: number;
  latencies: number[];
  ms: number;
}
export interface Result {
  steady: Phase;
  rotating: Phase;
}
export interface Queryable {
  query(text: string): Promise<unknown>;
}
export interface BenchPool extends Queryable {
  end(): Promise<void>;
}
/** The pools each scenario measures: Keyward's, Keyward's with `rotationSurge: MAX`, and the driver's own. */
export type PoolKind = 'keyward' | 'keyward-surge' | 'plain';
/** One scenario's runs: the Keyward pool, the same with `rotationSurge: MAX`, and the driver's own pool. */
export interface ScenarioResults {
  keyward: Result;
  surge: Result;
  plain: Result;
}

/** Logins on the bench's database server, made as its admin. */
export interface BenchLogins {
  /** Makes the `n`th login of the scenario with `password` (a new user, or the same user's new password); returns its username. */
  login(n: number, password: string): Promise<string>;
  /** What Vault does when a dynamic user's lease is revoked, and more: ends the user's sessions and drops it. */
  revoke(username: string): Promise<void>;
  /** Drops every user the scenario made (after its pool has ended). */
  dropAll(): Promise<void>;
}

/** Credentials the bench controls: each `next()` makes new ones on the server, then the store sees them. */
class RotatingCredentials {
  value = { username: '', password: '' };
  #n = 0;
  readonly provider: SecretProvider;

  constructor(
    private readonly logins: BenchLogins,
    private readonly scenario: Scenario,
  ) {
    this.provider = {
      kind: 'bench',
      locate: () => 'bench:database',
      read: async () => ({ value: { ...this.value }, lease: this.lease() }),
      revoke: (lease) => this.logins.revoke(lease.id),
    };
  }

  async next(): Promise<void> {
    const password = randomBytes(12).toString('hex');
    this.value = { username: await this.logins.login(++this.#n, password), password };
  }

  /** Dynamic users come with a lease (its id is the username), which the store revokes once let go; a password does not. */
  lease(): SecretLease | undefined {
    if (this.scenario === 'single-user') return undefined;
    return { id: this.value.username, ttlMs: 3_600_000, renewable: false, issuedAt: new Date() };
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

/**
 * One pool through one scenario: the first login, a store serving it as `database`, the pool
 * `open` makes on that store (given the first login, for a driver's own pool), then
 * `measureRotation`. The pool, the store and the scenario's users are gone afterwards.
 */
export async function measurePool(
  scenario: Scenario,
  logins: BenchLogins,
  open: (store: SecretStore, first: { username: string; password: string }) => BenchPool,
): Promise<Result> {
  const credentials = new RotatingCredentials(logins, scenario);
  try {
    await credentials.next();
    const store = await new SecretStore({
      app: 'bench',
      environment: 'bench',
      providers: { bench: credentials.provider },
      secrets: { database: { refresh: false } },
    }).start();
    try {
      const pool = open(store, credentials.value);
      // Expected errors of a driver's own pool (sessions ended under it) must not crash the bench.
      (pool as unknown as NodeJS.EventEmitter).on('error', () => {});
      try {
        return await measureRotation(pool, async () => {
          await credentials.next();
          await store.refresh('database');
        });
      } finally {
        await pool.end().catch(() => {});
      }
    } finally {
      await store.close();
    }
  } finally {
    await logins.dropAll();
  }
}

/** Every scenario with each kind of pool, one after another. */
export async function measureScenarios(measure: (scenario: Scenario, kind: PoolKind) => Promise<Result>): Promise<Record<Scenario, ScenarioResults>> {
  const results = {} as Record<Scenario, ScenarioResults>;
  for (const scenario of SCENARIOS) {
    results[scenario] = {
      keyward: await measure(scenario, 'keyward'),
      surge: await measure(scenario, 'keyward-surge'),
      plain: await measure(scenario, 'plain'),
    };
  }
  return results;
}

/**
 * Warms `pool` up (not measured), measures a steady phase, then a phase during which `rotate`
 * (new credentials on the server, then `store.refresh`) runs ROTATIONS times, evenly spaced.
 */
async function measureRotation(pool: Queryable, rotate: () => Promise<void>): Promise<Result> {
  await runWorkers(pool, WARMUP_MS); // connections opened, code paths warm: not measured
  const steady = await runWorkers(pool, STEADY_MS);
  const rotating = await runWorkers(pool, ROTATING_MS, async () => {
    for (let i = 0; i < ROTATIONS; i++) {
      await new Promise((r) => setTimeout(r, ROTATING_MS / (ROTATIONS + 1)));
      await rotate();
    }
  });
  return { steady, rotating };
}

function p99(latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

const qps = (p: Phase) => (p.queries * 1000) / p.ms;
const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b, 2));
const spike = (result: Result) => ({
  ratio: round(p99(result.rotating.latencies) / p99(result.steady.latencies), 2),
  rotatingP99: round(p99(result.rotating.latencies), 2),
  steadyP99: round(p99(result.steady.latencies), 2),
});

/**
 * Prints the lines of one bench: `prefix` names them (`pg-pool`), `baseline.key` the driver's own
 * pool in their comparisons (`pgPool`, `pgPoolRatio`, `completedPgPool`).
 */
export function reportRotation(prefix: string, baseline: { against: string; key: string }, results: Record<Scenario, ScenarioResults>): void {
  const { against, key } = baseline;
  const Key = key[0]!.toUpperCase() + key.slice(1);
  const setup = { workers: WORKERS, max: MAX, steadyMs: STEADY_MS, rotatingMs: ROTATING_MS, rotations: ROTATIONS, query: 'SELECT 1' };
  const steadyK = results['single-user'].keyward.steady;
  const steadyP = results['single-user'].plain.steady;
  report({
    name: `${prefix}.steady.qps`,
    unit: 'queries/s',
    value: round(qps(steadyK)),
    comparison: { against, [key]: round(qps(steadyP)), ratio: ratio(qps(steadyK), qps(steadyP)), ...setup },
  });
  report({
    name: `${prefix}.steady.p99`,
    unit: 'ms',
    value: round(p99(steadyK.latencies), 2),
    comparison: { against, [key]: round(p99(steadyP.latencies), 2), ratio: ratio(p99(steadyK.latencies), p99(steadyP.latencies)) },
  });
  for (const scenario of SCENARIOS) {
    const { keyward, surge, plain } = results[scenario];
    report({
      name: `${prefix}.rotating.${scenario}.qps`,
      unit: 'queries/s',
      value: round(qps(keyward.rotating)),
      comparison: { against, [key]: round(qps(plain.rotating)), ratio: ratio(qps(keyward.rotating), qps(plain.rotating)), ...setup },
    });
    report({
      name: `${prefix}.rotating.${scenario}.p99`,
      unit: 'ms',
      value: round(p99(keyward.rotating.latencies), 2),
      comparison: { against, [key]: round(p99(plain.rotating.latencies), 2), ratio: ratio(p99(keyward.rotating.latencies), p99(plain.rotating.latencies)) },
    });
    const { ratio: plainSpike } = spike(plain);
    const withoutSurge = spike(keyward);
    const withSurge = spike(surge);
    report({
      name: `${prefix}.rotating.${scenario}.p99-to-steady`,
      unit: 'ratio',
      value: withoutSurge.ratio,
      comparison: {
        against: "the same pool's p99 before the rotations (steady phase of this scenario)",
        rotatingP99: withoutSurge.rotatingP99,
        steadyP99: withoutSurge.steadyP99,
        [`${key}Ratio`]: plainSpike,
        target: 1.5,
        ...setup,
      },
    });
    report({
      name: `${prefix}.rotating.${scenario}.surge.p99-to-steady`,
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
      name: `${prefix}.rotating.${scenario}.failed-queries`,
      unit: 'queries',
      value: keyward.rotating.failed + keyward.steady.failed,
      comparison: { against, [key]: plain.rotating.failed + plain.steady.failed, completedKeyward: keyward.rotating.queries, [`completed${Key}`]: plain.rotating.queries },
    });
  }
}
