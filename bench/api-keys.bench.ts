// Requests per second and p99 latency of API key checks over HTTP, side by side in the SAME
// Express 5 app: no auth (the baseline), Keyward's requireApiKey(), and passport with
// passport-headerapikey checking the same keys the usual way (HMAC of the presented key looked up
// in a Map, then the scope). The ring holds RING_KEYS clients, a few of them rotated.
//   - accepted: every route gets the same valid current key in X-API-Key; all answers must be 200;
//   - refused: keyward and passport get a well-formed but unknown key; all answers must be 401.
// The load comes from autocannon in a worker thread, so the server keeps the main thread to itself.
// Routes run interleaved, ROUNDS times, each with its own warm-up; the medians are reported, and
// each ratio is the median of the rounds' own ratios (two routes measured seconds apart share the
// machine's state, which on a shared 2-core VM drifts by ±20% over a run).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiKeyVerifier, generateApiKey, hashApiKey, type KeyRing, type KeyRingEntry } from '@keyward/core';
import { keywardErrorHandler, requireApiKey } from '@keyward/express';
import express, { type RequestHandler } from 'express';
import passport from 'passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { autocannon, type Sample } from './http-load.js';
import { benchKeyRing } from './api-key-ring.js';
import { median, report, round } from './report.js';

const CONNECTIONS = 32;
const WARMUP_S = 1;
const DURATION_S = 3;
const ROUNDS = 7;
const SCOPE = 'reports:read';
const HEADER = 'X-API-Key';


type Route = 'none' | 'keyward' | 'passport';
interface Case {
  readonly name: string;
  readonly route: Route;
  readonly key: string;
  readonly status: 200 | 401;
}


/** passport-headerapikey's verify callback, "the usual way": a Map lookup of the HMAC, then the scope. */
function passportStrategy(ring: KeyRing, pepper: Buffer): HeaderAPIKeyStrategy {
  const byHmac = new Map<string, KeyRingEntry>(ring.keys.map((entry) => [entry.hmac, entry]));
  return new HeaderAPIKeyStrategy({ header: HEADER, prefix: '' }, false, (apiKey, done) => {
    const entry = byHmac.get(hashApiKey(apiKey, pepper));
    if (entry === undefined || !entry.scopes.includes(SCOPE)) return done(null, false);
    done(null, { client: entry.client, keyId: entry.keyId, scopes: entry.scopes });
  });
}

async function load(url: string, c: Case, duration: number): Promise<Sample> {
  const result = await autocannon({ url: `${url}/${c.route}`, connections: CONNECTIONS, duration, headers: { [HEADER]: c.key }, workers: 1 });
  const statuses = Object.entries(result.statusCodeStats);
  const unexpected = statuses.filter(([status]) => Number(status) !== c.status);
  const answered = statuses.reduce((sum, [, { count }]) => sum + count, 0);
  if (result.errors !== 0 || result.timeouts !== 0 || unexpected.length > 0 || answered === 0 || (c.status === 200 && result.non2xx !== 0)) {
    throw new Error(
      `api-keys bench: ${c.name} expected only ${c.status} answers, got ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/** One request per case before loading, so a misconfigured route fails loudly and at once. */
async function probe(url: string, c: Case): Promise<void> {
  const res = await fetch(`${url}/${c.route}`, { headers: { [HEADER]: c.key } });
  await res.arrayBuffer();
  if (res.status !== c.status) throw new Error(`api-keys bench: ${c.name} answered ${res.status}, expected ${c.status}`);
}


export async function run(): Promise<void> {
  const pepper = randomBytes(32);
  const { ring, validKey } = benchKeyRing(pepper, SCOPE);
  const unknownKey = generateApiKey({ env: 'live' }).key;
  const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => pepper });
  const authenticator = new passport.Passport();
  authenticator.use(passportStrategy(ring, pepper));

  const handler: RequestHandler = (_req, res) => {
    res.json({ ok: true });
  };
  // @types/passport types authenticate() as `any`: pin it to what Express gets.
  const passportAuth: RequestHandler = authenticator.authenticate('headerapikey', { session: false });
  const app = express();
  app.get('/none', handler);
  app.get('/keyward', requireApiKey({ verifier, scopes: [SCOPE] }), handler);
  app.get('/passport', passportAuth, handler);
  app.use(keywardErrorHandler());

  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const cases: readonly Case[] = [
    { name: 'none', route: 'none', key: validKey, status: 200 },
    { name: 'keyward', route: 'keyward', key: validKey, status: 200 },
    { name: 'passport', route: 'passport', key: validKey, status: 200 },
    { name: 'keyward.refused', route: 'keyward', key: unknownKey, status: 401 },
    { name: 'passport.refused', route: 'passport', key: unknownKey, status: 401 },
  ];
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  try {
    for (const c of cases) await probe(url, c);
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cases) {
        await load(url, c, WARMUP_S); // connections opened, code paths warm: not measured
        samples.get(c.name)!.push(await load(url, c, DURATION_S));
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const stat = (name: string, pick: (s: Sample) => number) => median(samples.get(name)!.map(pick));
  /** The median of the rounds' ratios of `name` to `base`, each measured in the same round. */
  const pairedRatio = (name: string, base: string, pick: (s: Sample) => number) => {
    const baseSamples = samples.get(base)!;
    return round(median(samples.get(name)!.map((s, i) => pick(s) / pick(baseSamples[i]!))), 2);
  };
  const setup = { connections: CONNECTIONS, durationS: DURATION_S, rounds: ROUNDS, ringKeys: ring.keys.length, previousKeys: ring.keys.filter((e) => e.status === 'previous').length, statistic: 'median; ratios: median of per-round ratios' };
  const metrics = [
    { suffix: 'rps', unit: 'requests/s', pick: (s: Sample) => s.rps, digits: 0 },
    { suffix: 'p99', unit: 'ms', pick: (s: Sample) => s.p99, digits: 2 },
  ] as const;
  for (const { suffix, unit, pick, digits } of metrics) {
    const noAuth = stat('none', pick);
    const keyward = stat('keyward', pick);
    const passportValue = stat('passport', pick);
    report({ name: `api-keys.http.none.${suffix}`, unit, value: round(noAuth, digits), comparison: { against: 'baseline: same Express app, no auth', ...setup } });
    report({
      name: `api-keys.http.keyward.${suffix}`,
      unit,
      value: round(keyward, digits),
      comparison: {
        against: 'same Express app, no auth',
        noAuth: round(noAuth, digits),
        ratio: pairedRatio('keyward', 'none', pick),
        passportHeaderApiKey: round(passportValue, digits),
        ratioToPassport: pairedRatio('keyward', 'passport', pick),
        ...setup,
      },
    });
    report({
      name: `api-keys.http.passport.${suffix}`,
      unit,
      value: round(passportValue, digits),
      comparison: { against: 'same Express app, no auth', noAuth: round(noAuth, digits), ratio: pairedRatio('passport', 'none', pick), ...setup },
    });
  }
  for (const { suffix, unit, pick, digits } of metrics) {
    const noAuth = stat('none', pick);
    const keyward = stat('keyward.refused', pick);
    const passportValue = stat('passport.refused', pick);
    const refused = { key: 'well-formed, unknown', status: 401 };
    report({
      name: `api-keys.http.keyward.refused.${suffix}`,
      unit,
      value: round(keyward, digits),
      comparison: {
        against: 'passport-headerapikey refusing the same key',
        passportHeaderApiKey: round(passportValue, digits),
        ratioToPassport: pairedRatio('keyward.refused', 'passport.refused', pick),
        noAuth: round(noAuth, digits),
        ratio: pairedRatio('keyward.refused', 'none', pick),
        ...refused,
        ...setup,
      },
    });
    report({
      name: `api-keys.http.passport.refused.${suffix}`,
      unit,
      value: round(passportValue, digits),
      comparison: { against: 'same Express app, no auth', noAuth: round(noAuth, digits), ratio: pairedRatio('passport.refused', 'none', pick), ...refused, ...setup },
    });
  }
}
