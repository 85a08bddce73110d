// chaos.audit-sink-stall (Express) and chaos.nest.audit-sink-stall: the audit trail's file
// transport hangs for 30 s (each write waits; nothing is acknowledged) under 50 clients.
// Routes that are not fail-closed (/secret, /db) must keep answering; the fail-closed one (/sign)
// answers 503 AUDIT_UNAVAILABLE (counted as refused) once the trail knows it is failing; every
// answered request must have its record once the sink is back (fail-closed 200s above all), and
// the chain must verify.
import { join } from 'node:path';
import { AuditFileTransport } from '@keyward/core';
import type { RunningPostgres } from '@keyward/testing';
import { startVaultBackend } from './backends.js';
import { startExpressChaosApp, type ChaosApp, type ChaosAppOptions } from './express-app.js';
import { checkTrail, inTempDir, reportChaos, seconds, standardLoad, tally } from './harness.js';
import { OUTCOME } from './load.js';
import { startNestChaosApp } from './nest-app.js';
import { scaled, sleep } from './scale.js';

/** The default file transport, with a switch that makes its writes wait (a hung disk, a frozen network mount). */
class StallingFileTransport extends AuditFileTransport {
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  stall(): void {
    this.#gate ??= new Promise<void>((resolve) => (this.#open = resolve));
  }

  resume(): void {
    this.#open?.();
    this.#gate = undefined;
    this.#open = undefined;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    if (this.#gate === undefined) return super.log(info, next);
    void this.#gate.then(() => super.log(info, next));
  }

  override logv(chunks: { chunk: Record<string | symbol, unknown> }[], next: () => void): void {
    if (this.#gate === undefined) return super.logv(chunks, next);
    void this.#gate.then(() => super.logv(chunks, next));
  }
}

export async function runAuditSinkStall(postgres: RunningPostgres, framework: 'express' | 'nest'): Promise<void> {
  await inTempDir(async (dir) => {
    const backend = await startVaultBackend(postgres, { ttl: '1h', maxTtl: '2h' });
    try {
      const auditFile = join(dir, 'audit.jsonl');
      const transport = new StallingFileTransport({ filename: auditFile });
      const options: ChaosAppOptions = { env: backend.env, auditFile, transports: [transport] };
      const app: ChaosApp = framework === 'express' ? await startExpressChaosApp(options) : await startNestChaosApp(options);
      let closed = false;
      try {
        const stallMs = scaled(30);
        const load = standardLoad(app.url, backend.secrets, scaled(5) + stallMs + scaled(10, 3000) + 10_000, `stall-${framework}-`);
        let stalledAt = 0;
        let resumedAt = 0;
        let failingSeenAt: number | undefined;
        let okAgainAt: number | undefined;
        let result;
        try {
          await sleep(scaled(5));
          transport.stall();
          stalledAt = Date.now();
          for (const end = stalledAt + stallMs; Date.now() < end; await sleep(100)) {
            if (failingSeenAt === undefined && app.trail.health().status === 'failing') failingSeenAt = Date.now();
          }
          transport.resume();
          resumedAt = Date.now();
          for (const end = resumedAt + scaled(10, 3000); Date.now() < end; await sleep(100)) {
            if (okAgainAt === undefined && app.trail.health().status === 'ok') okAgainAt = Date.now();
          }
        } finally {
          transport.resume();
          load.stop();
          result = await load.done;
        }
        const trailHealth = app.trail.health();
        closed = true;
        await app.close();
        const totals = tally(result);
        const during = (i: number) => result.raw.starts[i]! >= stalledAt && result.raw.starts[i]! < resumedAt;
        const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
        const lostFailClosed = (await checkTrail(auditFile, backend.secrets.auditKey, result, (i) => result.kind(i) === 'sign' && result.outcome(i) === OUTCOME.ok)).lostRecords;
        reportChaos(
          framework === 'express' ? 'chaos.audit-sink-stall' : 'chaos.nest.audit-sink-stall',
          {
            framework,
            ...totals,
            lostRecords,
            lostRecordsOfFailClosedAnswers: lostFailClosed,
            chainVerified: chain.ok,
            records: chain.records,
            stallS: seconds(stallMs),
            duringStall: {
              servedNotFailClosed: result.countOf(OUTCOME.ok, (i) => during(i) && result.kind(i) !== 'sign'),
              servedFailClosed: result.countOf(OUTCOME.ok, (i) => during(i) && result.kind(i) === 'sign'),
              refusedFailClosed: result.countOf(OUTCOME.refused, during),
              p99MsNotFailClosed: result.percentile(99, (i) => during(i) && result.kind(i) !== 'sign' && result.outcome(i) === OUTCOME.ok),
            },
            trailFailingAfterS: failingSeenAt === undefined ? null : seconds(failingSeenAt - stalledAt),
            trailOkAfterSinkBackS: okAgainAt === undefined ? null : seconds(okAgainAt - resumedAt),
            trailCounts: { written: trailHealth.written, failed: trailHealth.failed },
          },
          result.raw.reasons,
        );
      } finally {
        if (!closed) await app.close().catch(() => {});
      }
    } finally {
      await backend.close();
    }
  });
}
