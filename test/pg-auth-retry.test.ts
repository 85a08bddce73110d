import { describe, expect, it } from '@jest/globals';
import type { KeywardPgPoolEvents } from '@keyward/pg';
import { nextEvent } from '@keyward/test-support';
import { postgresWithLoginRole, eventually, memoryStore, randomPassword, scenarioPool, sessions, setPassword } from '@keyward/test-support/postgres';

type Drained = KeywardPgPoolEvents['drained'][0];

describe('@keyward/pg: credentials changed behind the pool’s back', () => {
  const initial = randomPassword('auth-retry');
  /** PostgreSQL's own log (in chunks of lines): each refused login writes one FATAL line. */
  const serverLog: string[] = [];
  const refusedLogins = () => serverLog.join('\n').split('password authentication failed for user "reports"').length - 1;

  const cluster = postgresWithLoginRole('reports', initial, { onLog: (line) => serverLog.push(line) });

  it('fails the next logins with 28P01, reads the secret ONCE for all of them, retries with the new password, and fails no query', async () => {
    const { store, memory } = await memoryStore({ username: 'reports', password: initial });
    const { pool, events } = scenarioPool(cluster.postgres, store, { max: 10 });
    const { authRetries } = events;
    try {
      // Two sessions open and idle on the first password.
      await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
      expect([pool.totalCount, pool.idleCount]).toEqual([2, 2]);

      // The password changes and the provider serves it, but the store has not read it.
      const changed = randomPassword('auth-retry');
      await setPassword(cluster.postgres, 'reports', changed);
      memory.values['database'] = { username: 'reports', password: changed };
      expect((store.get('database').reveal() as { password: string }).password).toBe(initial);
      const readsBefore = memory.reads.length;
      const refusedBefore = refusedLogins();
      const drained = nextEvent<Drained>(pool, 'drained', 10_000, (e) => e.version === 'v1');

      // 20 queries at once: 2 reuse the open sessions (still logged in), 8 must log in, 10 wait.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => pool.query<{ who: string; app: string }>(`SELECT current_user AS who, current_setting('application_name') AS app, pg_sleep(0.05)`)),
      );
      const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as { code?: string });
      const apps = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.rows[0]!.app] : []));

      expect(failures).toEqual([]);
      expect(apps).toHaveLength(20);
      // Each refused login was one 28P01; each asked for a retry; ONE read of the secret served them all.
      expect(authRetries.length).toBeGreaterThan(0);
      await eventually(async () => refusedLogins() - refusedBefore, (n) => n === authRetries.length, 2000, 'the refusals in the server log');
      expect(authRetries.every((e) => e.version === 'v1')).toBe(true);
      expect(memory.reads.length - readsBefore).toBe(1);
      expect(events.switches.map((e) => e.version)).toEqual(['v2']);
      expect(apps.filter((a) => a === 'keyward-v2').length).toBeGreaterThanOrEqual(authRetries.length);

      // The sessions still logged in with the old password are closed once their work is done.
      await expect(drained).resolves.toMatchObject({ version: 'v1', forced: 0 });
      await eventually(() => sessions(cluster.postgres), (s) => s.every((x) => x.applicationName === 'keyward-v2'), 3000, 'only sessions of the new password');
      process.stdout.write(`${JSON.stringify({ scenario: 'pg auth failure retry', queries: apps.length, failures: failures.length, refusedLogins: authRetries.length, secretReads: memory.reads.length - readsBefore })}\n`);
    } finally {
      await pool.end();
      await store.close();
    }
  }, 20_000);
});
