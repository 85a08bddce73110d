// chaos.sigterm-under-load (Express) and chaos.nest.sigterm-under-load: the app runs as a child
// process (app-main.ts) on Vault and PostgreSQL; 50 clients keep it busy; SIGTERM arrives after
// 5 s. Every request sent before the signal must be answered (right status, right body) and have
// its record; requests sent after it may find the door closed (connection refused or reset:
// counted as `turnedAwayAfterSignal`, not failed), but any that is answered must be answered
// right and recorded. The process must exit by itself, and the chain must verify.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@keyward/testing';
import type { RunningPostgres } from '@keyward/testing';
import { startVaultBackend } from './backends.js';
import { checkTrail, inTempDir, reportChaos, round, seconds, standardLoad, tally } from './harness.js';
import { OUTCOME, FAILED } from './load.js';
import { scaled, sleep } from './scale.js';

const MAIN = fileURLToPath(new URL('./app-main.ts', import.meta.url));

export async function runSigtermUnderLoad(postgres: RunningPostgres, framework: 'express' | 'nest'): Promise<void> {
  await inTempDir(async (dir) => {
    const backend = await startVaultBackend(postgres, { ttl: '1h', maxTtl: '2h' });
    const auditFile = join(dir, 'audit.jsonl');
    const port = await freePort();
    const child = spawn(process.execPath, ['--conditions=@keyward/source', '--import', 'tsx', MAIN, framework], {
      env: { ...process.env, ...backend.env, NODE_ENV: 'production', CHAOS_AUDIT_FILE: auditFile, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      for (const deadline = Date.now() + 30_000; !output.join('').includes('listening on'); await sleep(50)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the ${framework} chaos app did not start:\n${output.join('')}`);
      }
      const load = standardLoad(`http://127.0.0.1:${port}`, backend.secrets, scaled(5) + 30_000, `sigterm-${framework}-`);
      let signalAt = 0;
      let exitedAt = 0;
      let exit: [number | null, NodeJS.Signals | null] = [null, null];
      let result;
      try {
        await sleep(scaled(5));
        signalAt = performance.timeOrigin + performance.now();
        child.kill('SIGTERM');
        exit = await Promise.race([exited, sleep(20_000).then(() => [null, null] as [null, null])]);
        exitedAt = performance.timeOrigin + performance.now();
        await sleep(500); // the clients see the closed port
      } finally {
        load.stop();
        result = await load.done;
      }
      const stoppedCleanly = exit[0] === 0 || (exit[0] === null && exit[1] === 'SIGTERM');
      const before = (i: number) => result.raw.starts[i]! < signalAt;
      const after = (i: number) => !before(i);
      // Sent after the signal and not answered: the server had stopped accepting. Not a failure.
      const turnedAway = result.select((i) => after(i) && !result.answered(i) && (result.outcome(i) === OUTCOME.network)).length;
      const totals = tally(result);
      const failedBefore = result.select((i) => before(i) && FAILED.has(result.outcome(i))).length;
      const failedAfter = result.select((i) => after(i) && FAILED.has(result.outcome(i))).length - turnedAway;
      const inFlightAtSignal = result.select((i) => before(i) && result.raw.ends[i]! > signalAt).length;
      const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
      reportChaos(
        framework === 'express' ? 'chaos.sigterm-under-load' : 'chaos.nest.sigterm-under-load',
        {
          framework,
          ...totals,
          failedRequests: failedBefore + failedAfter + (stoppedCleanly ? 0 : 1),
          lostRecords,
          chainVerified: chain.ok,
          records: chain.records,
          sentBeforeSignal: result.select(before).length,
          inFlightAtSignal,
          answeredAfterSignal: result.select((i) => after(i) && result.answered(i)).length,
          turnedAwayAfterSignal: turnedAway,
          exit: exit[1] ?? exit[0],
          stoppedCleanly,
          stopS: seconds(exitedAt - signalAt),
          p99MsInFlightAtSignal: result.percentile(99, (i) => before(i) && result.raw.ends[i]! > signalAt),
          signalAfterS: round(scaled(5) / 1000, 1),
          // Every answer that was not a 200, and every request without one (those turned away after the signal included).
          nonOkReasons: result.raw.reasons,
        },
        {},
      );
      if (!stoppedCleanly) process.stderr.write(`chaos: the ${framework} app exited ${String(exit[1] ?? exit[0])}:\n${output.join('').slice(-4000)}\n`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited.catch(() => {});
      }
      await backend.close();
    }
  });
}
