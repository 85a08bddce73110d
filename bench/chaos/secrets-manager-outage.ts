// chaos.secrets-manager-outage: the Express app on the Secrets Manager emulator (the demo's
// `KEYWARD_BACKEND=aws` setup: static secrets, the key ring and the PostgreSQL login, refreshed),
// 50 clients on the usual mix, while every call to Secrets Manager is throttled
// (ThrottlingException) or fails (500 InternalServiceError, 503 ServiceUnavailableException) for
// 60 s. Health must go degraded and back to ok by itself; no request may fail.
import { join } from 'node:path';
import type { RunningPostgres } from '@keyward/testing';
import { startAwsBackend } from './backends.js';
import { startExpressChaosApp } from './express-app.js';
import { checkTrail, inTempDir, reportChaos, seconds, standardLoad, storeEvents, tally } from './harness.js';
import { firstNotOk, okAgainAt, statusesSeen, watchHealth } from './health.js';
import { scaled, sleep } from './scale.js';

const RECOVERY_CAP_MS = 45_000;

export async function runSecretsManagerOutage(postgres: RunningPostgres): Promise<void> {
  await inTempDir(async (dir) => {
    const backend = await startAwsBackend(postgres);
    // The AWS SDK reads its credentials from the process environment.
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    process.env['AWS_ACCESS_KEY_ID'] = backend.env['AWS_ACCESS_KEY_ID'];
    process.env['AWS_SECRET_ACCESS_KEY'] = backend.env['AWS_SECRET_ACCESS_KEY'];
    try {
      const auditFile = join(dir, 'audit.jsonl');
      const app = await startExpressChaosApp({ env: backend.env, auditFile });
      let closed = false;
      try {
        const events = storeEvents(app.store);
        const outageMs = scaled(60);
        const start = Date.now();
        const load = standardLoad(app.url, backend.secrets, scaled(5) + outageMs + RECOVERY_CAP_MS + 10_000, 'aws-');
        const health = watchHealth(app.url);
        let outageAt = 0;
        let outageEnd = 0;
        let result;
        let samples;
        try {
          await sleep(scaled(5));
          outageAt = Date.now();
          backend.proxy.setFaulty(true);
          await sleep(outageMs);
          backend.proxy.setFaulty(false);
          outageEnd = Date.now();
          const cap = outageEnd + RECOVERY_CAP_MS;
          const atLeast = outageEnd + scaled(5, 2000);
          while (Date.now() < cap && (Date.now() < atLeast || app.store.health().status !== 'ok')) await sleep(250);
          await sleep(1500); // the health watch sees the ok too
        } finally {
          backend.proxy.setFaulty(false);
          load.stop();
          result = await load.done;
          samples = await health.stop();
        }
        closed = true;
        await app.close();
        const totals = tally(result);
        const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
        const degradedAt = firstNotOk(samples, outageAt);
        const okAt = okAgainAt(samples, outageEnd);
        reportChaos(
          'chaos.secrets-manager-outage',
          {
            framework: 'express',
            ...totals,
            lostRecords,
            chainVerified: chain.ok,
            records: chain.records,
            outageS: seconds(outageMs),
            outage: 'every Secrets Manager call answered 400 ThrottlingException, 500 InternalServiceError or 503 ServiceUnavailableException in turns',
            callsRefused: { ...backend.proxy.refused },
            refreshFailures: events.filter((e) => e.event === 'refreshFailed').length,
            healthSeen: statusesSeen(samples, outageAt),
            degradedAfterS: degradedAt === undefined ? null : seconds(degradedAt - outageAt),
            timeToRecoverS: okAt === undefined ? null : seconds(okAt - outageEnd),
            runS: seconds(Date.now() - start),
          },
          result.raw.reasons,
        );
      } finally {
        if (!closed) await app.close().catch(() => {});
      }
    } finally {
      if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
      else process.env['AWS_ACCESS_KEY_ID'] = saved.id;
      if (saved.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
      else process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
      await backend.close();
    }
  });
}
