import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditStore, createAuditTrail, SecretStore, verifyAuditFile, type AuditRecord, type AuditTrailOptions } from '@keyward/core';
import { auditFailClosed, auditRequests, keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey } from '@keyward/express';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import winston from 'winston';
import { rotatedRing } from './support/api-keys.js';
import { canary, expectNoCanary, memoryProvider, waitFor } from '@keyward/test-support';

const KEY = randomBytes(32);
const PEPPER = 'pepper-audit-express-0123456789abcdef';
const MESSAGE = Symbol.for('message');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type TransportStream = NonNullable<AuditTrailOptions['transports']>[number];
// winston re-exports winston-transport's class as `winston.Transport` (its typings only as `winston.transport`).
const TransportBase = (winston as unknown as { Transport: unknown }).Transport as new (options: { level: string }) => TransportStream;

/** A winston transport (winston-transport's class) whose sink a test switches: acknowledges, never answers, or errors. */
class SwitchTransport extends TransportBase {
  mode: 'ack' | 'hang' | 'error' = 'ack';
  readonly lines: string[] = [];

  constructor() {
    super({ level: 'audit' });
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const mode = this.mode;
    setImmediate(() => {
      if (mode === 'ack') {
        this.lines.push(String(info[MESSAGE]));
        this.emit('logged', info);
      } else if (mode === 'error') {
        this.emit('error', new Error('disk full'));
      } // 'hang': taken, never acknowledged
      next();
    });
  }
}

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-audit-express-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const closable of open.splice(0).reverse()) await closable.close();
});

async function setUp(options: { transport?: SwitchTransport; writeTimeout?: string } = {}) {
  const file = join(dir, `audit-${++files}.jsonl`);
  const apiToken = canary('token');
  const password = canary('password');
  const provider = memoryProvider({ apiToken, database: { username: 'app', password } });
  provider.versions = { apiToken: 'v7', database: 'v3' };
  const store = await new SecretStore({
    app: 'shop',
    environment: 'test',
    providers: { test: provider },
    secrets: { apiToken: {}, database: { key: 'password' } },
  }).start();
  const trail = await createAuditTrail({
    key: KEY,
    service: 'shop',
    file,
    ...(options.transport === undefined ? {} : { transports: [options.transport] }),
    writeTimeout: options.writeTimeout ?? '2s',
  });
  open.push(store, trail);
  const stop = auditStore(trail, store);
  open.push({ close: async () => stop() });
  const keys = rotatedRing(PEPPER);
  const secrets = keywardSecrets(store);
  const runs = { payouts: 0 };

  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(auditRequests(trail));
  app.use(secrets);
  app.get('/health', keywardHealth(store, { audit: trail }));
  app.get('/health/strict', keywardHealth(store, { audit: trail, failClosed: true }));
  app.get('/orders/:id', requireApiKey({ verifier: keys.verifier, scopes: ['orders:read'] }), (req, res) => {
    res.json({ id: req.params.id, length: String(secrets.of(req).get('apiToken').reveal()).length });
  });
  app.get('/admin', requireApiKey({ verifier: keys.verifier, scopes: ['admin'] }), (_req, res) => res.json({ ok: true }));
  // Reads `name`, waits, reads it again: concurrent requests interleave their reads.
  app.get('/read/:name', async (req, res) => {
    const name = req.params.name as 'apiToken' | 'database';
    secrets.of(req).get(name);
    await sleep(Number(req.query.wait ?? 0));
    res.json({ secret: secrets.of(req).get(name) });
  });
  app.get('/slow', async (_req, res) => {
    await sleep(60);
    res.json({ ok: true });
  });
  app.get('/boom', () => {
    throw new Error('kaboom: internal detail');
  });
  const reports = express.Router();
  reports.get('/:id', (req) => {
    (req.secrets!.get as (n: string) => unknown)('adminPassword');
  });
  app.use('/reports', reports);
  app.post('/payouts', auditFailClosed(trail), (req, res) => {
    runs.payouts += 1;
    res.json({ paid: true, token: String(secrets.of(req).get('apiToken').reveal()).length });
  });
  app.use(keywardErrorHandler());
  const internal: ErrorRequestHandler = (_err, _req, res, _next) => {
    res.status(500).json({ error: { code: 'INTERNAL' } });
  };
  app.use(internal);

  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });

  const responses: string[] = [];
  const texts = (res: request.Response) => {
    responses.push(`${JSON.stringify(res.headers)}\n${res.text}`);
    return res;
  };
  /** The records in the file, once `count` `http.request` ones are there. */
  const fileRecords = async (count: number): Promise<AuditRecord[]> => {
    let records: AuditRecord[] = [];
    await waitFor(() => trail.health().pending === 0, 3000, 'the trail to settle');
    const deadline = Date.now() + 3000;
    for (;;) {
      const text = await readFile(file, 'utf8').catch(() => '');
      records = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AuditRecord);
      if (records.filter((r) => r.event === 'http.request').length >= count || Date.now() > deadline) return records;
      await sleep(5);
    }
  };
  const byId = (records: AuditRecord[], id: string) => {
    const found = records.filter((r) => r.event === 'http.request' && r.request?.id === id);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  return { app, server, trail, store, file, keys, apiToken, password, runs, responses, texts, fileRecords, byId };
}

describe('auditRequests in a real Express app', () => {
  it('writes one chained record per request: route template, method, status, duration, principal, secrets read', async () => {
    const env = await setUp();
    const ok = env.texts(await request(env.server).get('/orders/42?x=1').set('X-API-Key', env.keys.current.key).set('X-Request-ID', 'req-ok-1').expect(200));
    expect(ok.headers['x-request-id']).toBe('req-ok-1');
    const slow = env.texts(await request(env.server).get('/slow').set('X-Request-ID', 'req-slow').expect(200));
    const post = env.texts(await request(env.server).post('/payouts').set('X-Request-ID', 'req-post').expect(200));
    const records = await env.fileRecords(3);

    const order = env.byId(records, 'req-ok-1');
    expect(order).toMatchObject({
      event: 'http.request',
      outcome: 'success',
      actor: { type: 'api-key', id: env.keys.current.keyId, client: 'billing' },
      request: { id: 'req-ok-1', method: 'GET', route: '/orders/:id', status: 200 },
      secrets: [{ name: 'apiToken', version: 'v7' }],
    });
    expect(order.error).toBeUndefined();
    expect(typeof order.request!.durationMs).toBe('number');
    expect(env.byId(records, 'req-slow').request!.durationMs).toBeGreaterThanOrEqual(50);
    expect(env.byId(records, 'req-slow')).toMatchObject({ actor: { type: 'anonymous' }, secrets: [] });
    expect(env.byId(records, 'req-post')).toMatchObject({ request: { method: 'POST', route: '/payouts', status: 200 }, secrets: [{ name: 'apiToken', version: 'v7' }] });
    expect(records.filter((r) => r.event === 'http.request')).toHaveLength(3);
    expect(slow.headers['x-request-id']).toBe('req-slow');
    expect(post.body.paid).toBe(true);

    // The store's own records (started) are in the same chain, and the chain verifies.
    expect(records.map((r) => r.event)).toContain('store.started');
    const verified = await verifyAuditFile(env.file, KEY);
    expect(verified).toMatchObject({ ok: true, records: records.length });
    expect(records.map((r) => r.seq)).toEqual(records.map((_r, i) => i + 1));
  });

  it('echoes a plain request id and replaces one that is not a plain token', async () => {
    const env = await setUp();
    const bad = 'bad id <script>';
    const replaced = env.texts(await request(env.server).get('/slow').set('X-Request-ID', bad).expect(200));
    const generated = env.texts(await request(env.server).get('/slow').expect(200));
    const replacedId = replaced.headers['x-request-id']!;
    expect(replacedId).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers['x-request-id']).not.toBe(replacedId);
    const records = await env.fileRecords(2);
    env.byId(records, replacedId);
    env.byId(records, generated.headers['x-request-id']!);
    expect(await readFile(env.file, 'utf8')).not.toContain('script');
  });

  it('keeps the secrets of concurrent requests apart', async () => {
    const env = await setUp();
    const [a, b] = await Promise.all([
      request(env.server).get('/read/apiToken?wait=60').set('X-Request-ID', 'req-a'),
      request(env.server).get('/read/database?wait=20').set('X-Request-ID', 'req-b'),
    ]);
    env.texts(a);
    env.texts(b);
    expect([a.status, b.status]).toEqual([200, 200]);
    const records = await env.fileRecords(2);
    expect(env.byId(records, 'req-a').secrets).toEqual([{ name: 'apiToken', version: 'v7' }]);
    expect(env.byId(records, 'req-b').secrets).toEqual([{ name: 'database', version: 'v3' }]);
    expect(env.byId(records, 'req-a').request!.route).toBe('/read/:name');
  });

  it('records API key refusals as denied with their code, 404 without a route, errors as failures', async () => {
    const env = await setUp();
    env.texts(await request(env.server).get('/orders/1').set('X-Request-ID', 'req-missing').expect(401));
    env.texts(await request(env.server).get('/orders/1').set('X-API-Key', 'kw_live_nope').set('X-Request-ID', 'req-malformed').expect(401));
    env.texts(await request(env.server).get('/admin').set('X-API-Key', env.keys.current.key).set('X-Request-ID', 'req-scope').expect(403));
    env.texts(await request(env.server).get('/nowhere/7').set('X-Request-ID', 'req-404').expect(404));
    env.texts(await request(env.server).get('/boom').set('X-Request-ID', 'req-500').expect(500));
    const undeclared = env.texts(await request(env.server).get('/reports/9').set('X-Request-ID', 'req-keyward-500').expect(500));
    expect(undeclared.body.error.code).toBe('SECRET_NOT_DECLARED');
    const records = await env.fileRecords(6);

    expect(env.byId(records, 'req-missing')).toMatchObject({
      outcome: 'denied',
      actor: { type: 'anonymous' },
      request: { route: '/orders/:id', status: 401 },
      error: { code: 'API_KEY_MISSING' },
      secrets: [],
    });
    expect(env.byId(records, 'req-malformed')).toMatchObject({ outcome: 'denied', request: { status: 401 }, error: { code: 'API_KEY_MALFORMED' } });
    expect(env.byId(records, 'req-scope')).toMatchObject({ outcome: 'denied', request: { route: '/admin', status: 403 }, error: { code: 'API_KEY_SCOPE' } });
    const notFound = env.byId(records, 'req-404');
    expect(notFound).toMatchObject({ outcome: 'failure', request: { method: 'GET', route: null, status: 404 } });
    expect(notFound.error).toBeUndefined();
    const boom = env.byId(records, 'req-500');
    expect(boom).toMatchObject({ outcome: 'failure', request: { route: '/boom', status: 500 } });
    expect(boom.error).toBeUndefined(); // not a Keyward error: no code, and never its message
    // A route in a router, its error answered by the app-level handler: the template keeps the mount path.
    expect(env.byId(records, 'req-keyward-500')).toMatchObject({
      outcome: 'failure',
      request: { route: '/reports/:id', status: 500 },
      error: { code: 'SECRET_NOT_DECLARED' },
    });
    const text = await readFile(env.file, 'utf8');
    expect(text).not.toContain('kw_live_nope');
    expect(text).not.toContain('adminPassword');
    expect(text).not.toContain('kaboom');
    expect(await verifyAuditFile(env.file, KEY)).toMatchObject({ ok: true });
  });

  it('records the client that trust proxy names, HMAC-ed, never in clear', async () => {
    const env = await setUp();
    const forwarded = '203.0.113.7';
    env.texts(await request(env.server).get('/slow').set('X-Forwarded-For', forwarded).set('User-Agent', 'audit-test/1.0').set('X-Request-ID', 'req-proxied').expect(200));
    env.app.set('trust proxy', false);
    env.texts(await request(env.server).get('/slow').set('X-Forwarded-For', forwarded).set('X-Request-ID', 'req-direct').expect(200));
    const records = await env.fileRecords(2);

    const proxied = env.byId(records, 'req-proxied').request!;
    expect(proxied.ip).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(proxied.ip).toBe(env.trail.hash(forwarded));
    expect(proxied.userAgent).toBe(env.trail.hash('audit-test/1.0'));
    // Without trust proxy the header is not believed: the record holds the socket's address.
    const direct = env.byId(records, 'req-direct').request!;
    expect(direct.ip).toBe(env.trail.hash('127.0.0.1'));
    const text = await readFile(env.file, 'utf8');
    expect(text).not.toContain(forwarded);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('audit-test');
  });

  it('answers health with the trail, degraded (not 503) while it fails, down (503) with failClosed', async () => {
    const transport = new SwitchTransport();
    const env = await setUp({ transport, writeTimeout: '200ms' });
    const healthy = env.texts(await request(env.server).get('/health').expect(200));
    expect(healthy.body).toMatchObject({ status: 'ok', checks: { store: { status: 'ok' }, audit: { status: 'ok', delivery: 'ok', failed: 0 } } });
    env.texts(await request(env.server).get('/health/strict').expect(200));

    transport.mode = 'error';
    env.texts(await request(env.server).post('/payouts').expect(503));
    const degraded = env.texts(await request(env.server).get('/health').expect(200));
    expect(degraded.body).toMatchObject({ status: 'degraded', checks: { audit: { status: 'degraded', delivery: 'failing', lastFailure: { code: 'AUDIT_SINK_ERROR' } } } });
    expect(degraded.body.checks.store.secrets.apiToken.status).toBe('ok');
    const strict = env.texts(await request(env.server).get('/health/strict').expect(503));
    expect(strict.body).toMatchObject({ status: 'down', checks: { store: { status: 'ok' }, audit: { status: 'down', delivery: 'failing' } } });
    expectNoCanary({ responses: env.responses.join('\n') }, env.apiToken, env.password);
  });
});

describe('fail-closed routes', () => {
  // Long enough that "answered at once" (< WRITE_TIMEOUT_MS) and "held for the record" (>= it) stay
  // apart on a loaded 2-core machine, where one supertest round trip can take a few hundred ms.
  const WRITE_TIMEOUT_MS = 1000;
  const MARGIN_MS = 1000;

  async function timed(run: () => PromiseLike<request.Response>): Promise<{ res: request.Response; ms: number }> {
    const started = Date.now();
    const res = await run();
    return { res, ms: Date.now() - started };
  }

  it('with a sink that never acknowledges: 503 within writeTimeout, handler not run while failing, other routes unfrozen, recovery', async () => {
    const transport = new SwitchTransport();
    const env = await setUp({ transport, writeTimeout: `${WRITE_TIMEOUT_MS}ms` });

    // A working sink: the fail-closed response leaves only once its record is acknowledged.
    env.texts(await request(env.server).post('/payouts').set('X-Request-ID', 'pay-1').expect(200));
    expect(transport.lines.some((l) => l.includes('"id":"pay-1"'))).toBe(true);
    expect(env.runs.payouts).toBe(1);

    transport.mode = 'hang';
    const first = await timed(() => request(env.server).post('/payouts').set('X-Request-ID', 'pay-2'));
    env.texts(first.res);
    expect(first.res.status).toBe(503);
    expect(first.res.body).toEqual({ error: { code: 'AUDIT_UNAVAILABLE', message: 'This service cannot record its audit trail; try again.' } });
    expect(first.res.headers['x-request-id']).toBe('pay-2');
    expect(first.ms).toBeGreaterThanOrEqual(WRITE_TIMEOUT_MS - 20);
    expect(first.ms).toBeLessThan(WRITE_TIMEOUT_MS + MARGIN_MS);
    expect(env.runs.payouts).toBe(2); // the trail was still ok when it started: it ran, its answer was withheld
    expect(env.trail.health()).toMatchObject({ status: 'failing', lastFailure: { code: 'AUDIT_TIMEOUT' } });

    // Now known to be failing: refused before the handler, still within writeTimeout + margin.
    const refused = await timed(() => request(env.server).post('/payouts').set('X-Request-ID', 'pay-3'));
    env.texts(refused.res);
    expect(refused.res.status).toBe(503);
    expect(refused.res.body.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(refused.ms).toBeLessThan(WRITE_TIMEOUT_MS + MARGIN_MS);
    expect(env.runs.payouts).toBe(2);

    // A route that is not fail-closed is not frozen by the hanging sink.
    const open = await timed(() => request(env.server).get('/orders/5').set('X-API-Key', env.keys.current.key));
    env.texts(open.res);
    expect(open.res.status).toBe(200);
    expect(open.ms).toBeLessThan(WRITE_TIMEOUT_MS);

    const health = env.texts(await request(env.server).get('/health').expect(200));
    expect(health.body).toMatchObject({ status: 'degraded', checks: { audit: { delivery: 'failing' } } });

    // The sink works again: a probe brings the trail back, and the route runs again.
    transport.mode = 'ack';
    await waitFor(
      () => {
        env.trail.probe();
        return env.trail.health().status === 'ok';
      },
      WRITE_TIMEOUT_MS * 4 + MARGIN_MS,
      'the trail to recover',
    );
    env.texts(await request(env.server).post('/payouts').set('X-Request-ID', 'pay-4').expect(200));
    expect(env.runs.payouts).toBe(3);
    expect(transport.lines.some((l) => l.includes('"event":"audit.probe"'))).toBe(true);
    expect((await request(env.server).get('/health').expect(200)).body.checks.audit.delivery).toBe('ok');
    expectNoCanary({ responses: env.responses.join('\n'), sink: transport.lines.join('\n') }, env.apiToken, env.password);
  });

  it('with a sink that errors: 503 at once (not at the timeout), handler not run, recovery', async () => {
    const transport = new SwitchTransport();
    const env = await setUp({ transport, writeTimeout: '5s' });
    transport.mode = 'error';
    const first = await timed(() => request(env.server).post('/payouts').set('X-Request-ID', 'err-1'));
    env.texts(first.res);
    expect(first.res.status).toBe(503);
    expect(first.res.body.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(first.ms).toBeLessThan(2500); // half the 5 s writeTimeout: refused on the sink's error, not at the timeout
    expect(env.runs.payouts).toBe(1);
    expect(env.trail.health()).toMatchObject({ status: 'failing', lastFailure: { code: 'AUDIT_SINK_ERROR' } });

    env.texts(await request(env.server).post('/payouts').set('X-Request-ID', 'err-2').expect(503));
    expect(env.runs.payouts).toBe(1);
    expect((await request(env.server).get('/health').expect(200)).body).toMatchObject({ status: 'degraded', checks: { audit: { delivery: 'failing' } } });

    transport.mode = 'ack';
    await waitFor(
      () => {
        env.trail.probe();
        return env.trail.health().status === 'ok';
      },
      2000,
      'the trail to recover',
    );
    env.texts(await request(env.server).post('/payouts').set('X-Request-ID', 'err-3').expect(200));
    expect(env.runs.payouts).toBe(2);
    expectNoCanary({ responses: env.responses.join('\n'), sink: transport.lines.join('\n') }, env.apiToken, env.password);
  });

  it('refuses a fail-closed route without the audit middleware in front as misconfigured', async () => {
    const trail = await createAuditTrail({ key: KEY, service: 'shop', transports: [new SwitchTransport()] });
    open.push(trail);
    const app = express();
    app.post('/payouts', auditFailClosed(trail), (_req, res) => res.json({ paid: true }));
    app.use(keywardErrorHandler());
    const res = await request(app).post('/payouts').expect(500);
    expect(res.body.error.code).toBe('CONFIG_INVALID');
  });
});

describe('nothing secret in the audit file or the responses', () => {
  it('a mixed run leaves no canary, key or address in clear', async () => {
    const env = await setUp();
    const calls = [
      request(env.server).get('/orders/1').set('X-API-Key', env.keys.current.key),
      request(env.server).get('/orders/2').set('Authorization', `Bearer ${env.keys.previous.key}`),
      request(env.server).get('/orders/3'),
      request(env.server).get('/read/database'),
      request(env.server).get('/read/apiToken'),
      request(env.server).post('/payouts'),
      request(env.server).get('/reports/1'),
      request(env.server).get('/health'),
      request(env.server).get('/nowhere'),
    ];
    for (const res of await Promise.all(calls)) env.texts(res);
    await env.fileRecords(calls.length);
    const text = await readFile(env.file, 'utf8');
    expectNoCanary({ file: text, responses: env.responses.join('\n') }, env.apiToken, env.password);
    expectNoCanary({ file: text }, env.keys.current.key, env.keys.previous.key, PEPPER, '127.0.0.1');
    expect(await verifyAuditFile(env.file, KEY)).toMatchObject({ ok: true });
  });
});
