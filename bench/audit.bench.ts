// Requests per second and p99 latency of per-request audit records over HTTP, side by side in the
// SAME Express 5 app, three routes sharing one handler that reads one secret from a store:
//   - bare: no request record (the baseline);
//   - keyward: auditRequests(trail), one sealed, hash-chained record per request, IP and user agent
//     HMAC'd, the secret read named, appended to a file and acknowledged by the transport;
//   - express-winston: expressWinston.logger() writing a comparable JSON line per request (method,
//     url, status, response time, IP, user agent) through winston's File transport.
// Every record is counted afterwards: each audited route must have written exactly one record per
// request its handler served, else the bench throws.
// The load comes from autocannon in a worker thread, so the server keeps the main thread to itself.
// Routes run interleaved, ROUNDS times, each with its own warm-up; the medians are reported, and
// each ratio is the median of the rounds' ratios.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditStore, createAuditTrail, SecretStore, verifyAuditFile, type SecretProvider } from '@keyward/core';
import { auditRequests, keywardErrorHandler, keywardSecrets } from '@keyward/express';
import express, { type RequestHandler } from 'express';
import expressWinston from 'express-winston';
import winston from 'winston';
import { autocannon, type Sample } from './http-load.js';
import { median, report, round } from './report.js';

const CONNECTIONS = 32;
const WARMUP_S = 1;
const DURATION_S = 5;
const ROUNDS = 5;
const USER_AGENT = 'keyward-bench/1.0';


const ROUTES = ['bare', 'keyward', 'express-winston'] as const;
type Route = (typeof ROUTES)[number];

/** One secret, in memory: what is measured is the record, not the read. */
const provider: SecretProvider = {
  kind: 'memory',
  locate: (ref) => `memory:${ref.path}`,
  read: async () => ({ value: randomBytes(24).toString('hex'), version: 'v1' }),
};

async function load(url: string, route: Route, duration: number): Promise<Sample> {
  const result = await autocannon({ url: `${url}/${route}`, connections: CONNECTIONS, duration, headers: { 'user-agent': USER_AGENT }, workers: 1 });
  const statuses = Object.entries(result.statusCodeStats);
  const unexpected = statuses.filter(([status]) => Number(status) !== 200);
  if (result.errors !== 0 || result.timeouts !== 0 || unexpected.length > 0 || result.non2xx !== 0 || result.requests.total === 0) {
    throw new Error(`audit bench: ${route} expected only 200 answers, got ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/** One request per route before loading, so a misconfigured route fails loudly and at once. */
async function probe(url: string, route: Route): Promise<void> {
  const res = await fetch(`${url}/${route}`, { headers: { 'user-agent': USER_AGENT } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`audit bench: ${route} answered ${res.status}, expected 200`);
}

/** The lines of `file` that `keep` selects, with their total size in bytes (newlines included). */
async function linesOf(file: string, keep: (line: string) => boolean): Promise<{ count: number; bytes: number }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '' && keep(l));
  return { count: lines.length, bytes: lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0) };
}

/** Polls until `file` has `expected` selected lines (winston's File transport writes behind the response). */
async function awaitLines(file: string, keep: (line: string) => boolean, expected: number, timeoutMs = 10_000): Promise<{ count: number; bytes: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await linesOf(file, keep);
    if (found.count >= expected || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-audit-bench-'));
  const keywardFile = join(dir, 'audit.jsonl');
  const winstonFile = join(dir, 'express-winston.jsonl');
  const store = await new SecretStore({ app: 'bench', environment: 'bench', providers: { bench: provider }, secrets: { apiToken: {} } }).start();
  const auditKey = randomBytes(32);
  const trail = await createAuditTrail({ key: auditKey, service: 'bench', file: keywardFile });
  const stopAudit = auditStore(trail, store);
  const secrets = keywardSecrets(store);

  const served: Record<Route, number> = { bare: 0, keyward: 0, 'express-winston': 0 };
  const handler =
    (route: Route): RequestHandler =>
    (req, res) => {
      const length = String(secrets.of(req).get('apiToken').reveal()).length;
      served[route] += 1;
      res.json({ ok: true, length });
    };
  const winstonFileTransport = new winston.transports.File({ filename: winstonFile });
  const winstonLogger = expressWinston.logger({
    transports: [winstonFileTransport],
    format: winston.format.json(),
    meta: true,
    msg: 'HTTP {{req.method}} {{req.url}}',
    expressFormat: false,
    colorize: false,
    // A record comparable to Keyward's: method, url, status, response time, client and user agent (in clear).
    requestWhitelist: ['url', 'method', 'originalUrl', 'query'],
    responseWhitelist: ['statusCode'],
    dynamicMeta: (req) => ({ ip: req.ip, userAgent: req.get('user-agent') }),
  });

  const app = express();
  app.use(secrets);
  app.get('/bare', handler('bare'));
  // Per route, so that only /keyward is audited (it is normally app.use()d in front of everything).
  app.get('/keyward', auditRequests(trail), handler('keyward'));
  app.get('/express-winston', winstonLogger, handler('express-winston'));
  app.use(keywardErrorHandler());

  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const samples = new Map<Route, Sample[]>(ROUTES.map((r) => [r, []]));
  let keywardRecords: { count: number; bytes: number };
  let chain: Awaited<ReturnType<typeof verifyAuditFile>>;
  let winstonRecords: { count: number; bytes: number };
  try {
    for (const route of ROUTES) await probe(url, route);
    for (let r = 0; r < ROUNDS; r++) {
      for (const route of ROUTES) {
        await load(url, route, WARMUP_S); // connections opened, code paths warm: not measured
        samples.get(route)!.push(await load(url, route, DURATION_S));
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    stopAudit();
    await trail.close(); // waits for every pending record, fsyncs
    await store.close();
  }
  try {
    keywardRecords = await linesOf(keywardFile, (l) => l.includes('"event":"http.request"'));
    chain = await verifyAuditFile(keywardFile, auditKey);
    winstonRecords = await awaitLines(winstonFile, () => true, served['express-winston']);
    winstonFileTransport.close?.();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const health = trail.health();
  if (keywardRecords.count !== served.keyward || health.failed !== 0) {
    throw new Error(`audit bench: keyward served ${served.keyward} requests but wrote ${keywardRecords.count} records (${health.failed} failed)`);
  }
  if (!chain.ok) throw new Error(`audit bench: the keyward trail does not verify: ${JSON.stringify(chain.break)}`);
  if (winstonRecords.count !== served['express-winston']) {
    throw new Error(`audit bench: express-winston served ${served['express-winston']} requests but wrote ${winstonRecords.count} records`);
  }

  const stat = (route: Route, pick: (s: Sample) => number) => median(samples.get(route)!.map(pick));
  // Ratios per round (the routes of one round ran back to back), then their median: this VM's
  // throughput drifts by 20-30% between rounds, which a ratio of separate medians picks up.
  const paired = (route: Route, against: Route, pick: (s: Sample) => number) =>
    round(median(samples.get(route)!.map((s, i) => pick(s) / pick(samples.get(against)![i]!))), 2);
  const setup = { connections: CONNECTIONS, durationS: DURATION_S, rounds: ROUNDS, statistic: 'median; ratios: median of per-round ratios' };
  const metrics = [
    { suffix: 'rps', unit: 'requests/s', pick: (s: Sample) => s.rps, digits: 0 },
    { suffix: 'p99', unit: 'ms', pick: (s: Sample) => s.p99, digits: 2 },
  ] as const;
  for (const { suffix, unit, pick, digits } of metrics) {
    const bare = stat('bare', pick);
    const keyward = stat('keyward', pick);
    const winstonValue = stat('express-winston', pick);
    report({ name: `audit.http.bare.${suffix}`, unit, value: round(bare, digits), comparison: { against: 'baseline: same Express app and handler, no request record', ...setup } });
    report({
      name: `audit.http.keyward.${suffix}`,
      unit,
      value: round(keyward, digits),
      comparison: {
        against: 'same Express app and handler, no request record',
        bare: round(bare, digits),
        ratio: paired('keyward', 'bare', pick),
        expressWinston: round(winstonValue, digits),
        ratioToExpressWinston: paired('keyward', 'express-winston', pick),
        ...setup,
      },
    });
    report({
      name: `audit.http.express-winston.${suffix}`,
      unit,
      value: round(winstonValue, digits),
      comparison: { against: 'same Express app and handler, no request record', bare: round(bare, digits), ratio: paired('express-winston', 'bare', pick), ...setup },
    });
  }
  const records = [
    { name: 'keyward', found: keywardRecords, requests: served.keyward, format: 'sealed JSON line: seq, prev, HMAC chain hash, route template, secrets read, IP and user agent HMAC-ed' },
    { name: 'express-winston', found: winstonRecords, requests: served['express-winston'], format: 'winston JSON line: message, method, url, status, response time, IP and user agent in clear' },
  ];
  for (const { name, found, requests, format } of records) {
    report({
      name: `audit.file.${name}.bytesPerRecord`,
      unit: 'bytes',
      value: round(found.bytes / found.count, 0),
      comparison: { against: 'records written = requests served (checked)', records: found.count, requests, format, ...(name === 'keyward' ? { chainVerified: chain.ok } : {}) },
    });
  }
}
