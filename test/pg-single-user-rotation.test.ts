import { describe, expect, it } from '@jest/globals';
import type { KeywardPgPoolEvents } from '@keyward/pg';
import { nextEvent } from '@keyward/test-support';
import {
  postgresWithLoginRole,
  eventually,
  memoryStore,
  randomPassword,
  scenarioPool,
  sessions,
  setPassword,
  startWorkload,
  tryLogin,
  type WorkloadReport,
} from '@keyward/test-support/postgres';

type Drained = KeywardPgPoolEvents['drained'][0];
type Switched = KeywardPgPoolEvents['generation'][0];

const ROTATIONS = 10;
const WORKERS = 50;

describe('@keyward/pg: one user whose password changes 10 times under 50 workers (AWS single-user rotation)', () => {
  const initial = randomPassword('single-user');

  const cluster = postgresWithLoginRole('billing', initial);

  it('ends with 0 failed queries, and after each drain no session of the old generation is left', async () => {
    const { store, memory } = await memoryStore({ username: 'billing', password: initial });
    const { pool, events } = scenarioPool(cluster.postgres, store, { max: 10, min: 2, drainTimeout: '20s' });
    const { switches, drains, authRetries } = events;
    const started = Date.now();
    const workload = startWorkload(pool, { workers: WORKERS, maxDurationMs: 25_000 });
    const leftovers: string[] = [];
    let report: WorkloadReport;
    try {
      await workload.until((r) => r.completed >= 500, 10_000, 'the workers under way');
      for (let n = 1; n <= ROTATIONS; n++) {
        const [oldVersion, newVersion] = [`v${n}`, `v${n + 1}`];
        const password = randomPassword('single-user');
        const switched = nextEvent<Switched>(pool, 'generation', 10_000, (e) => e.version === newVersion);
        const drained = nextEvent<Drained>(pool, 'drained', 10_000, (e) => e.version === oldVersion);
        // As a rotation Lambda does it: the new password is stored, set on the database, and served.
        memory.values['database'] = { username: 'billing', password };
        await setPassword(cluster.postgres, 'billing', password);
        await store.refresh('database');
        await switched;
        await drained;
        // Closing a session takes a round trip after the drain: poll, a little.
        const now = await eventually(() => sessions(cluster.postgres), (s) => s.every((x) => x.applicationName !== `keyward-${oldVersion}`), 3000, `no ${oldVersion} session`);
        leftovers.push(...now.filter((x) => x.applicationName !== `keyward-${newVersion}`).map((x) => x.applicationName));
        // Work goes on with the new password before the next change.
        const done = workload.report().completed;
        await workload.until((r) => r.completed >= done + 200 && (r.readsByApplication.get(`keyward-${newVersion}`) ?? 0) >= 50, 10_000, `queries on ${newVersion}`);
      }
    } finally {
      report = await workload.stop();
      await pool.end();
      await store.close();
    }
    const elapsedMs = Date.now() - started;
    process.stdout.write(
      `${JSON.stringify({ scenario: 'pg single-user rotation', workers: WORKERS, rotations: switches.length, queries: report.completed, failures: report.failures.length, transactions: report.transactions, authRetries: authRetries.length, closedOnRelease: drains.reduce((n, d) => n + d.closedOnRelease, 0), forced: drains.reduce((n, d) => n + d.forced, 0), elapsedMs })}\n`,
    );

    expect(report.failures).toEqual([]);
    expect(switches.map((s) => s.version)).toEqual(Array.from({ length: ROTATIONS }, (_, i) => `v${i + 2}`));
    // One drain per rotation, and the last generation's by end().
    expect(drains.map((d) => d.version)).toEqual(Array.from({ length: ROTATIONS + 1 }, (_, i) => `v${i + 1}`));
    expect(drains.every((d) => d.forced === 0)).toBe(true);
    // Checked-out clients of the old password finished their work and closed on release.
    expect(drains.reduce((n, d) => n + d.closedOnRelease, 0)).toBeGreaterThan(0);
    expect(leftovers).toEqual([]);
    // Every generation served queries; the work was real.
    for (let v = 1; v <= ROTATIONS + 1; v++) expect(report.readsByApplication.get(`keyward-v${v}`) ?? 0).toBeGreaterThan(0);
    expect(report.completed).toBeGreaterThan(ROTATIONS * 200);
    expect(report.transactions).toBeGreaterThan(0);
    // Only the last password logs in.
    const last = (memory.values['database'] as { password: string }).password;
    expect(await tryLogin(cluster.postgres, 'billing', last)).toBe('ok');
    expect(await tryLogin(cluster.postgres, 'billing', initial)).toBe('28P01');
    await eventually(() => sessions(cluster.postgres), (s) => s.length === 0, 3000, 'every session closed by end()');
  }, 30_000);
});
