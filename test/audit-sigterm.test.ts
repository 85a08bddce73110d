import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { verifyAuditFile } from '@keyward/core';
import { freePort } from '@keyward/testing';
import { waitFor } from '@keyward/test-support';
import { postgresWithLoginRole } from '@keyward/test-support/postgres';
import { demoEnvFile } from './support/demo-env.js';

// The demo as a real process with a real database, under load, stopped with SIGTERM half-way:
// every response a client received is a 200 and has its audit record, no record is left for a
// request nobody got an answer to, and the chain verifies. The load mixes a route that answers at
// once (`/`), a fail-closed one (`/sign`) and one that queries PostgreSQL through the pool (`/db`),
// so neither the stop's own bookkeeping nor the pool's close may fail an accepted request.

const TOTAL = 10_000;
const CONCURRENCY = 32;
const STOP_AFTER = 5_000;

describe.each(['express', 'nest'])('audit trail of demo-%s under SIGTERM', (demoName) => {
  const env = demoEnvFile();
  const db = postgresWithLoginRole(env.database.username, env.database.password);
  const auditFile = join(env.dir, 'logs', 'audit.jsonl');
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    env.remove();
  });

  it(`records exactly the completed requests of ${TOTAL} when stopped in the middle, and the chain verifies`, async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--conditions=@keyward/source', '--import', 'tsx', `apps/demo-${demoName}/src/main.ts`], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        KEYWARD_BACKEND: 'dotenv',
        KEYWARD_ENV_FILE: env.path,
        KEYWARD_AUDIT_FILE: auditFile,
        PORT: String(port),
        DEMO_DB_PORT: String(db.postgres.port),
        DEMO_DB_NAME: db.postgres.database,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    await waitFor(() => output.join('').includes('listening on'), 20_000, 'the demo to listen');

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const { key } = await env.apiKeys.create({ client: 'load', scopes: ['sign', 'db:read'] });
    const paths = [(n: number) => `/sign/req-${n}`, () => '/', () => '/db'];
    const statuses = new Map<number, number>();
    let completed = 0;
    let failed = 0;
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, agent, headers, timeout: 5_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
    const loadStatuses = new Set<number>();
    const count = (status: number) => {
      completed += 1;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    };

    // The ring file is watched: ask until the new key is accepted (these answers are recorded too).
    let issued = 0;
    for (const deadline = Date.now() + 5_000; statuses.get(200) === undefined; ) {
      if (Date.now() > deadline) throw new Error('the new key was not accepted within 5 s');
      issued += 1;
      count(await get('/sign/ready', { 'x-api-key': key }));
    }
    let stopped = false;
    const worker = async () => {
      while (issued < TOTAL) {
        issued += 1;
        try {
          const status = await get(paths[issued % paths.length]!(issued), { 'x-api-key': key });
          count(status);
          loadStatuses.add(status);
        } catch {
          failed += 1;
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        if (!stopped && completed >= STOP_AFTER) {
          stopped = true;
          child!.kill('SIGTERM');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();
    const [code, signal] = await exited;
    child = undefined;

    // Express exits 0; Nest re-raises the signal once it has closed (so the exit says SIGTERM).
    const stoppedCleanly = code === 0 || (code === null && signal === 'SIGTERM');
    if (!stoppedCleanly) console.log(`the demo exited ${code ?? signal}:\n${output.join('')}`);
    expect(stoppedCleanly).toBe(true);
    expect(stopped).toBe(true);
    expect(completed + failed).toBe(issued);
    expect(completed).toBeGreaterThanOrEqual(STOP_AFTER);
    // Every answer a client got is a success: none was refused or failed by the stop itself.
    expect([...loadStatuses]).toEqual([200]);
    expect(failed).toBeGreaterThan(0); // the server really went away in the middle

    const records = readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { event: string; request?: { status: number; route: string | null } });
    const requests = records.filter((r) => r.event === 'http.request');
    expect(requests).toHaveLength(completed);
    const recordedStatuses = new Map<number, number>();
    for (const r of requests) recordedStatuses.set(r.request!.status, (recordedStatuses.get(r.request!.status) ?? 0) + 1);
    expect(recordedStatuses).toEqual(statuses);
    expect(new Set(requests.map((r) => r.request!.route))).toEqual(new Set(['/sign/:text', '/', '/db']));

    const verified = await verifyAuditFile(auditFile, env.auditKey);
    expect(verified).toMatchObject({ ok: true, records: records.length });
  }, 120_000);
});
