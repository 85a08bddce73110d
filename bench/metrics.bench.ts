// What OpenTelemetry metrics cost on the request path: requests per second and p99 latency of the
// SAME Express 5 app served twice side by side, each route with its own, identically built stack
// (a store of SECRETS in-memory secrets, an API key verifier over a ring of RING_KEYS keys,
// an audit trail to a file, auditStore naming the secret each request reads):
//   - off: no keywardMetrics() call at all (what an app without an SDK gets: the API's no-op meter);
//   - on:  keywardMetrics({ store, apiKeys, audit }, { meter }) on an SDK MeterProvider whose reader
//          is a PrometheusExporter (preventServerStart: true, its handler mounted at /metrics), and
//          /metrics scraped over HTTP every SCRAPE_EVERY_MS during the load, as Prometheus would
//          (from a worker thread: Prometheus's own side of a scrape is not the app's work).
// Each route: auditRequests(trail), requireApiKey({ verifier, scopes }) with a valid current key,
// a handler reading one secret (no database). Every answer must be 200; afterwards every request
// served must have its record in its trail, and the "on" side's counters must have counted each.
// The load comes from autocannon in a worker thread, so the server keeps the main thread to itself.
// Off and on run interleaved, ROUNDS times, in ABBA order (off-on, on-off, ...) so neither always
// runs second; each with its own warm-up. Medians are reported, each ratio is the median of the
// rounds' ratios, and the rounds' ratios' spread is printed with it: a 2% cost is inside this
// VM's round-to-round noise, so read `ratio` together with `ratioRange`.
// Then two microbenchmarks: the verifier's check() with and without metrics observing it (ns per
// call), and one scrape (collect + Prometheus text) with the app's store and with SCRAPE_SECRETS
// secrets (ms per scrape).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import {
  auditStore,
  createApiKeyVerifier,
  createAuditTrail,
  keywardMetrics,
  SecretStore,
  type ApiKeyVerifier,
  type AuditTrail,
  type KeyRing,
  type KeywardMetrics,
  type SecretDeclarations,
  type SecretProvider,
} from '@keyward/core';
import { auditRequests, keywardErrorHandler, keywardSecrets, requireApiKey } from '@keyward/express';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import express, { type RequestHandler } from 'express';
import { autocannon, type Sample } from './http-load.js';
import { benchKeyRing } from './api-key-ring.js';
import { median, report, round } from './report.js';

const CONNECTIONS = 32;
const WARMUP_S = 1;
const DURATION_S = 2;
const ROUNDS = 20; // even: as many off-first rounds as on-first ones
const SECRETS = 20;
const SCRAPE_SECRETS = 1000;
const SCRAPE_EVERY_MS = 1000;
/** Before measuring: a 1-minute load average under this, waited for up to QUIET_WAIT_MS. */
const QUIET_LOAD = 1;
const QUIET_WAIT_MS = 90_000;
/** At most this many scrapes in one load (a bound; a 1 s interval over WARMUP_S + DURATION_S makes 2 or 3). */
const MAX_SCRAPES_PER_LOAD = 20;
/** The verifier microbench: interleaved batches of check() calls. */
const BATCH = 4000;
const BATCHES = 31;
const SCOPE = 'reports:read';
const HEADER = 'X-API-Key';
const USER_AGENT = 'keyward-bench/1.0';

const SIDES = ['off', 'on'] as const;
type Side = (typeof SIDES)[number];

/** In memory: what is measured is the request path, not a backend. */
const provider: SecretProvider = {
  kind: 'memory',
  locate: (ref) => `memory:${ref.path}`,
  read: async () => ({ value: randomBytes(24).toString('hex'), version: 'v1' }),
};

function declarations(count: number): SecretDeclarations {
  const secrets: Record<string, object> = { apiToken: {} };
  for (let i = 1; i < count; i++) secrets[`secret${String(i).padStart(4, '0')}`] = {};
  return secrets as SecretDeclarations;
}

const startStore = (count: number) => new SecretStore({ app: 'bench', environment: 'bench', providers: { bench: provider }, secrets: declarations(count) }).start();


/** One side's stack: its own store, verifier and trail, so that metrics observe only the "on" one. */
interface Stack {
  readonly store: SecretStore;
  readonly verifier: ApiKeyVerifier;
  readonly trail: AuditTrail;
  readonly file: string;
  readonly route: RequestHandler[];
  served: number;
  stop(): void;
}

async function buildStack(dir: string, side: Side, ring: KeyRing, pepper: Buffer): Promise<Stack> {
  const store = await startStore(SECRETS);
  const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => pepper });
  const file = join(dir, `audit-${side}.jsonl`);
  const trail = await createAuditTrail({ key: randomBytes(32), service: 'bench', file });
  const stopAudit = auditStore(trail, store);
  const secrets = keywardSecrets(store);
  const stack: Stack = {
    store,
    verifier,
    trail,
    file,
    served: 0,
    route: [
      secrets,
      auditRequests(trail),
      requireApiKey({ verifier, scopes: [SCOPE] }),
      (req, res) => {
        const length = String(secrets.of(req).get('apiToken').reveal()).length;
        stack.served += 1;
        res.json({ ok: true, length });
      },
    ],
    stop: stopAudit,
  };
  return stack;
}

/** The metrics side: an SDK MeterProvider read by a Prometheus exporter that serves no port of its own. */
interface Telemetry {
  readonly exporter: PrometheusExporter;
  readonly provider: MeterProvider;
  readonly metrics: KeywardMetrics;
  close(): Promise<void>;
}

function telemetry(sources: Parameters<typeof keywardMetrics>[0]): Telemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const metrics = keywardMetrics(sources, { meter: meterProvider.getMeter('keyward-bench') });
  return {
    exporter,
    provider: meterProvider,
    metrics,
    close: async () => {
      metrics.stop();
      await meterProvider.shutdown();
    },
  };
}

/**
 * Prometheus's side of a scrape, in a worker thread: the client's own work (opening a request,
 * reading 7 KB) is Prometheus's, in another process, not the app's. In the main thread it cost
 * the "on" side 3-5% more than the scrape's collect() itself.
 */
const SCRAPER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, everyMs, max } = workerData;
let count = 0, bytes = 0, failure, inFlight;
const timer = setInterval(() => {
  if (inFlight || failure || count >= max) return;
  inFlight = fetch(url, { signal: AbortSignal.timeout(5000) })
    .then(async (res) => {
      const text = await res.text();
      if (res.status !== 200 || !text.includes('keyward_')) throw new Error('metrics bench: a scrape answered ' + res.status + ' with ' + text.length + ' chars and no keyward_ series');
      count += 1;
      bytes = Buffer.byteLength(text);
    })
    .catch((err) => { failure = failure ?? String(err); })
    .finally(() => { inFlight = undefined; });
}, everyMs);
parentPort.once('message', async () => {
  clearInterval(timer);
  await inFlight;
  parentPort.postMessage({ count, bytes, failure });
});
`;

/** Scrapes `url` every SCRAPE_EVERY_MS from a worker thread (one at a time, at most MAX_SCRAPES_PER_LOAD) until stopped. */
function scraper(url: string): { stop(): Promise<{ count: number; bytes: number }> } {
  const worker = new Worker(SCRAPER, { eval: true, workerData: { url, everyMs: SCRAPE_EVERY_MS, max: MAX_SCRAPES_PER_LOAD } });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const [result] = (await once(worker, 'message')) as [{ count: number; bytes: number; failure?: string }];
      await worker.terminate();
      if (result.failure !== undefined) throw new Error(result.failure);
      return { count: result.count, bytes: result.bytes };
    },
  };
}

async function load(url: string, side: Side, key: string, duration: number): Promise<Sample> {
  const result = await autocannon({ url: `${url}/${side}`, connections: CONNECTIONS, duration, headers: { [HEADER]: key, 'user-agent': USER_AGENT }, workers: 1 });
  const statuses = Object.entries(result.statusCodeStats);
  const unexpected = statuses.filter(([status]) => Number(status) !== 200);
  if (result.errors !== 0 || result.timeouts !== 0 || unexpected.length > 0 || result.non2xx !== 0 || result.requests.total === 0) {
    throw new Error(`metrics bench: ${side} expected only 200 answers, got ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.average, p99: result.latency.p99 };
}

async function probe(url: string, path: string, key: string): Promise<void> {
  const res = await fetch(`${url}/${path}`, { headers: { [HEADER]: key, 'user-agent': USER_AGENT } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`metrics bench: /${path} answered ${res.status}, expected 200`);
}

async function collected(exporter: PrometheusExporter): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await exporter.collect();
  if (errors.length > 0) throw new Error(`metrics bench: collect() failed: ${String(errors[0])}`);
  return resourceMetrics;
}

/** The sum of a counter's data points whose attributes include `where`. */
function counterSum(resourceMetrics: ResourceMetrics, name: string, where: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints) {
        if (Object.entries(where).every(([k, v]) => point.attributes[k] === v)) sum += point.value as number;
      }
    }
  }
  return sum;
}

/** The records in a trail's file: all of them, and the per-request ones. */
async function recordsIn(file: string): Promise<{ all: number; requests: number }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  return { all: lines.length, requests: lines.filter((l) => l.includes('"event":"http.request"')).length };
}

/** ns per check() of each verifier, in interleaved batches; the median batch of each. */
function timeChecks(verifiers: Readonly<Record<Side, ApiKeyVerifier>>, key: string): Record<Side, number> {
  const times: Record<Side, number[]> = { off: [], on: [] };
  const batch = (side: Side) => {
    const verifier = verifiers[side];
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) if (!verifier.check(key, { scopes: [SCOPE] }).ok) throw new Error('metrics bench: the microbench key was refused');
    return ((performance.now() - start) * 1e6) / BATCH;
  };
  batch('off'); // warm
  batch('on');
  for (let b = 0; b < BATCHES; b++) {
    const order: readonly Side[] = b % 2 === 0 ? SIDES : ['on', 'off'];
    for (const side of order) times[side].push(batch(side));
  }
  return { off: median(times.off), on: median(times.on) };
}

/** ms per scrape (collect + Prometheus text), median of `runs` after a few unmeasured ones. */
async function timeScrapes(exporter: PrometheusExporter, runs: number): Promise<{ ms: number; bytes: number; series: number }> {
  const serializer = new PrometheusSerializer();
  let text = '';
  for (let i = 0; i < 5; i++) text = serializer.serialize(await collected(exporter));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    text = serializer.serialize(await collected(exporter));
    times.push(performance.now() - start);
  }
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  return { ms: median(times), bytes: Buffer.byteLength(text), series };
}

/** Waits until the 1-minute load average is under QUIET_LOAD, at most QUIET_WAIT_MS; the seconds waited. */
async function settle(): Promise<number> {
  const started = performance.now();
  while (loadavg()[0]! >= QUIET_LOAD && performance.now() - started < QUIET_WAIT_MS) await new Promise((resolve) => setTimeout(resolve, 2000));
  return round((performance.now() - started) / 1000, 1);
}

export async function run(): Promise<void> {
  // `pnpm bench` builds just before: let the machine settle (bounded), since other work on this
  // 2-core VM moves both sides by tens of percent. Shown with the results.
  const waitedForQuietS = await settle();
  const loadAverageAtStart = round(loadavg()[0]!, 2);
  const dir = await mkdtemp(join(tmpdir(), 'keyward-metrics-bench-'));
  const pepper = randomBytes(32);
  const { ring, validKey } = benchKeyRing(pepper, SCOPE);
  const stacks = { off: await buildStack(dir, 'off', ring, pepper), on: await buildStack(dir, 'on', ring, pepper) } satisfies Record<Side, Stack>;
  const on = telemetry({ store: stacks.on.store, apiKeys: stacks.on.verifier, audit: stacks.on.trail });

  const app = express();
  app.get('/off', ...stacks.off.route);
  app.get('/on', ...stacks.on.route);
  app.get('/metrics', (req, res) => on.exporter.getMetricsRequestHandler(req, res));
  app.use(keywardErrorHandler());
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const samples: Record<Side, Sample[]> = { off: [], on: [] };
  const scrapes = { count: 0, bytes: 0 };
  let records: Record<Side, { all: number; requests: number }>;
  let counted: { verifications: number; auditWritten: number };
  let checkNs: Record<Side, number>;
  let scrape: { app: Awaited<ReturnType<typeof timeScrapes>>; large: Awaited<ReturnType<typeof timeScrapes>> };
  try {
    try {
      for (const side of SIDES) await probe(url, side, validKey);
      await probe(url, 'metrics', validKey);
      for (let r = 0; r < ROUNDS; r++) {
        const order: readonly Side[] = r % 2 === 0 ? SIDES : ['on', 'off'];
        for (const side of order) {
          const scraping = side === 'on' ? scraper(`${url}/metrics`) : undefined;
          try {
            await load(url, side, validKey, WARMUP_S); // connections opened, code paths warm: not measured
            samples[side].push(await load(url, side, validKey, DURATION_S));
          } finally {
            const seen = await scraping?.stop();
            if (seen !== undefined) {
              scrapes.count += seen.count;
              scrapes.bytes = seen.bytes;
            }
          }
        }
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const side of SIDES) {
      stacks[side].stop();
      await stacks[side].trail.close(); // waits for every pending record
    }
    records = { off: await recordsIn(stacks.off.file), on: await recordsIn(stacks.on.file) };
    const final = await collected(on.exporter);
    counted = {
      verifications: counterSum(final, 'keyward.api_key.verifications', { 'keyward.api_key.result': 'current' }),
      auditWritten: counterSum(final, 'keyward.audit.records', { 'keyward.audit.outcome': 'written' }),
    };
    checkNs = timeChecks({ off: stacks.off.verifier, on: stacks.on.verifier }, validKey);
    const largeStore = await startStore(SCRAPE_SECRETS);
    const large = telemetry({ store: largeStore });
    try {
      scrape = { app: await timeScrapes(on.exporter, 50), large: await timeScrapes(large.exporter, 20) };
    } finally {
      await large.close();
      await largeStore.close();
    }
  } finally {
    await on.close();
    for (const side of SIDES) await stacks[side].store.close();
    await rm(dir, { recursive: true, force: true });
  }

  for (const side of SIDES) {
    const health = stacks[side].trail.health();
    if (records[side].requests !== stacks[side].served || health.failed !== 0) {
      throw new Error(`metrics bench: ${side} served ${stacks[side].served} requests but wrote ${records[side].requests} request records (${health.failed} failed)`);
    }
  }
  // The trail's file also holds records that are not requests (the store's start): the counter counts them all.
  if (counted.verifications !== stacks.on.served || counted.auditWritten !== records.on.all) {
    throw new Error(`metrics bench: "on" served ${stacks.on.served} requests and wrote ${records.on.all} records, but counted ${counted.verifications} verifications and ${counted.auditWritten} records written`);
  }
  if (scrapes.count < ROUNDS * (WARMUP_S + DURATION_S - 1)) throw new Error(`metrics bench: only ${scrapes.count} scrapes during the "on" loads`);

  const stat = (side: Side, pick: (s: Sample) => number) => median(samples[side].map(pick));
  const ratios = (pick: (s: Sample) => number) => samples.on.map((s, i) => pick(s) / pick(samples.off[i]!));
  const setup = {
    connections: CONNECTIONS,
    durationS: DURATION_S,
    rounds: ROUNDS,
    order: 'ABBA',
    ringKeys: ring.keys.length,
    secrets: SECRETS,
    statistic: 'median; ratios: median of per-round ratios',
    loadAverageAtStart,
    waitedForQuietS,
  };
  const onSetup = { meter: 'sdk-metrics MeterProvider + PrometheusExporter (preventServerStart)', scrapeEveryMs: SCRAPE_EVERY_MS, scrapes: scrapes.count, scrapeBytes: scrapes.bytes };
  const lines = [
    { suffix: 'rps', unit: 'requests/s', pick: (s: Sample) => s.rps, digits: 0, cost: (r: number) => (1 - r) * 100 },
    { suffix: 'p99', unit: 'ms', pick: (s: Sample) => s.p99, digits: 2, cost: (r: number) => (r - 1) * 100 },
  ] as const;
  for (const { suffix, unit, pick, digits, cost } of lines) {
    const off = stat('off', pick);
    const perRound = ratios(pick);
    const ratio = median(perRound);
    report({ name: `metrics.http.off.${suffix}`, unit, value: round(off, digits), comparison: { against: 'baseline: same app, no keywardMetrics() (no-op meter)', ...setup } });
    report({
      name: `metrics.http.on.${suffix}`,
      unit,
      value: round(stat('on', pick), digits),
      comparison: {
        against: 'same app, metrics off',
        off: round(off, digits),
        ratio: round(ratio, 3),
        costPercent: round(cost(ratio), 1),
        ratioRange: [round(Math.min(...perRound), 3), round(Math.max(...perRound), 3)],
        target: 'cost under 2%',
        ...onSetup,
        ...setup,
      },
    });
  }
  report({
    name: 'metrics.verifier.check.ns',
    unit: 'ns/call',
    value: round(checkNs.on, 0),
    comparison: {
      against: 'the same check() on a verifier no metrics observe',
      off: round(checkNs.off, 0),
      deltaNs: round(checkNs.on - checkNs.off, 0),
      ratio: round(checkNs.on / checkNs.off, 3),
      // The verifier counts checks by result (one increment each) whether or not metrics read
      // them, so both sides run the same code: a delta here is noise, or what observing adds.
      counting: 'in both (verifier.stats(), read at collect time)',
      key: 'current, 1 scope',
      statistic: `median of ${BATCHES} interleaved batches of ${BATCH}; two unobserved verifiers differ by up to ±5% here`,
    },
  });
  for (const [label, secrets, s] of [
    ['app', SECRETS, scrape.app],
    [`${SCRAPE_SECRETS}-secrets`, SCRAPE_SECRETS, scrape.large],
  ] as const) {
    report({
      name: `metrics.scrape.${label}.ms`,
      unit: 'ms/scrape',
      value: round(s.ms, 2),
      comparison: {
        against: 'one collect() + Prometheus text, as a scrape of /metrics does',
        secrets,
        sources: label === 'app' ? 'store, apiKeys, audit' : 'store',
        series: s.series,
        bytes: s.bytes,
        // What scraping every SCRAPE_EVERY_MS takes from the main thread that serves requests.
        mainThreadPercent: round((s.ms / SCRAPE_EVERY_MS) * 100, 2),
        scrapeEveryMs: SCRAPE_EVERY_MS,
        statistic: 'median',
      },
    });
  }
}
