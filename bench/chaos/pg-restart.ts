// recovery.pg-restart: PostgreSQL itself stops (fast shutdown: every session ended) under 50
// clients and starts again 5 s later on the same port and data. Not maskable: /db requests fail
// while it is down. Measured: the time from the restart until the pool serves again; requests that
// failed outside the down window (must be 0); requests that waited longer than the pool's
// acquireTimeout (+1 s; must be 0); connections of the app's user left in pg_stat_activity beyond
// what the pool holds once the load is over (leaks, must be 0); lost records (must be 0).
import { join } from 'node:path';
import type { RunningPostgres } from '@keyward/testing';
import { startVaultBackend } from './backends.js';
import { POOL_ACQUIRE_TIMEOUT_MS, startExpressChaosApp } from './express-app.js';
import { checkTrail, inTempDir, round, seconds, standardLoad, tally } from './harness.js';
import { FAILED, OUTCOME } from './load.js';
import { report } from '../report.js';
import { scaled, sleep } from './scale.js';

export async function runPgRestart(postgres: RunningPostgres): Promise<void> {
  await inTempDir(async (dir) => {
    const backend = await startVaultBackend(postgres, { ttl: '1h', maxTtl: '2h' });
    try {
      const auditFile = join(dir, 'audit.jsonl');
      const app = await startExpressChaosApp({ env: backend.env, auditFile });
      let closed = false;
      try {
        const downMs = scaled(5, 2000);
        const load = standardLoad(app.url, backend.secrets, scaled(5) + downMs + scaled(15, 5000) + 20_000, 'pg-');
        let haltedAt = 0;
        let resumedAt = 0;
        let result;
        try {
          await sleep(scaled(5));
          haltedAt = performance.timeOrigin + performance.now();
          await postgres.halt();
          await sleep(downMs);
          await postgres.resume();
          resumedAt = performance.timeOrigin + performance.now();
          await sleep(scaled(15, 5000));
        } finally {
          await postgres.resume();
          load.stop();
          result = await load.done;
        }
        // Idle for a moment, then: how many sessions does the app's user hold, and how many does the pool think it has?
        await sleep(1000);
        const user = (app.store.get('database').reveal() as { username: string }).username;
        const admin = await postgres.connect();
        let sessions: number;
        try {
          sessions = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [user])).rows[0]!.n);
        } finally {
          await admin.end();
        }
        const poolHolds = app.pool.stats().total;
        closed = true;
        await app.close();
        const afterClose = await postgres.connect();
        let sessionsAfterClose: number;
        try {
          sessionsAfterClose = Number((await afterClose.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [user])).rows[0]!.n);
        } finally {
          await afterClose.end();
        }
        const db = (i: number) => result.kind(i) === 'db';
        const firstServed = result.select((i) => db(i) && result.outcome(i) === OUTCOME.ok && result.raw.starts[i]! >= resumedAt).map((i) => result.raw.ends[i]!);
        const servesAgainAt = firstServed.length === 0 ? undefined : Math.min(...firstServed);
        const window = (i: number) => result.raw.ends[i]! >= haltedAt && result.raw.starts[i]! <= (servesAgainAt ?? Infinity);
        const failedInWindow = result.select((i) => window(i) && FAILED.has(result.outcome(i))).length;
        const failedOutside = result.select((i) => !window(i) && FAILED.has(result.outcome(i))).length;
        const hung = result.select((i) => result.outcome(i) === OUTCOME.timeout || result.latency(i) > POOL_ACQUIRE_TIMEOUT_MS + 1000).length;
        const totals = tally(result);
        const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
        report({
          name: 'recovery.pg-restart',
          unit: 'ms',
          value: servesAgainAt === undefined ? -1 : round(servesAgainAt - resumedAt),
          comparison: {
            measures: 'PostgreSQL restarted: from its start until the pool serves a query again',
            framework: 'express',
            ...totals,
            failedRequests: failedOutside,
            failedWhileDown: failedInWindow,
            downS: seconds(resumedAt - haltedAt),
            outageSeenByClientsS: servesAgainAt === undefined ? null : seconds(servesAgainAt - haltedAt),
            lostRecords,
            chainVerified: chain.ok,
            records: chain.records,
            acquireTimeoutMs: POOL_ACQUIRE_TIMEOUT_MS,
            hungPastAcquireTimeout: hung,
            maxMsDb: result.maxLatency(db),
            appUserSessions: sessions,
            poolHolds,
            leakedConnections: Math.max(0, sessions - poolHolds),
            appUserSessionsAfterClose: sessionsAfterClose,
            nonOkReasons: result.raw.reasons,
          },
        });
      } finally {
        if (!closed) await app.close().catch(() => {});
      }
    } finally {
      await backend.close();
    }
  });
}
