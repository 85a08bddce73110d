import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiKey, emptyKeyRing, SecretStore, verifyAuditFile, type AuditRecord, type AuditTrail } from '@keyward/core';
import {
  AuditFailClosed,
  AuditInterceptor,
  InjectSecret,
  KEYWARD_AUDIT_TRAIL,
  KeywardModule,
  Public,
  type KeywardAuditOptions,
  type SecretRef,
} from '@keyward/nestjs';
import { Controller, Get, Inject, Injectable, Module, Param, type ExecutionContext, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { ApplicationConfig, NestFactory, Reflector } from '@nestjs/core';
import { of } from 'rxjs';
import request from 'supertest';
// Internal to core: runs the interceptor inside a request's audit context without HTTP.
import { runWithAuditContext } from '../packages/core/src/audit/audit-context.js';
import { canary, memoryProvider, type MemoryProvider, ScriptedTransport, waitFor } from '@keyward/test-support';

// A real Nest app over HTTP with KeywardModule.forRoot({ apiKeys, audit }): one record per
// request in a real trail file (verified with verifyAuditFile), or a scripted sink that hangs.

const PEPPER = canary('pepper');
const AUDIT_KEY = `${canary('audit')}-${canary('key')}`; // 32+ characters
const STRIPE = canary('stripe');
const MAILER = canary('mailer');
const issued = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: [], pepper: PEPPER });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const calls = { payouts: 0, refunds: 0 };

@Controller('orders')
class OrdersController {
  constructor(
    @InjectSecret('stripeKey') private readonly stripe: SecretRef<string>,
    @Inject(SecretStore) private readonly store: SecretStore,
  ) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return { id, stripe: this.stripe.reveal().length };
  }

  /** Reads its secret after a pause, so that two concurrent requests interleave. */
  @Get(':id/charge')
  async charge(@Param('id') id: string) {
    await sleep(30);
    return { id, stripe: this.stripe.reveal().length };
  }

  @Get(':id/mail')
  async mail(@Param('id') id: string) {
    await sleep(10);
    return { id, mailer: (this.store.get('mailerPassword').reveal() as string).length };
  }
}

@Controller('payments')
class PaymentsController {
  @AuditFailClosed()
  @Get('payout')
  payout() {
    calls.payouts += 1;
    return { paid: true };
  }

  @Get('refund')
  refund() {
    calls.refunds += 1;
    return { refunded: true };
  }

  @Public()
  @Get('health')
  health() {
    return { ok: true };
  }
}

/** An app module of its own that records an event on shutdown: the trail must still be open then. */
@Injectable()
class Farewell implements OnApplicationShutdown {
  constructor(@Inject(KEYWARD_AUDIT_TRAIL) private readonly trail: AuditTrail) {}

  async onApplicationShutdown(): Promise<void> {
    await this.trail.record({ event: 'app.stopped', actor: this.trail.service, outcome: 'success' });
  }
}

interface Started {
  app: INestApplication;
  trail: AuditTrail;
  store: SecretStore;
  provider: MemoryProvider;
  file: string;
  /** A GET with the API key, or without one for `null`. */
  get: (path: string, key?: string | null) => request.Test;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-audit-nest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const open: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function start(audit: Partial<KeywardAuditOptions> = {}, prefix?: string): Promise<Started> {
  n += 1;
  const file = join(dir, `audit-${n}.jsonl`);
  const provider = memoryProvider({ auditKey: AUDIT_KEY, apiKeys: issued.ring, apiKeyPepper: PEPPER, stripeKey: STRIPE, mailerPassword: MAILER });
  Object.assign(provider.versions, { auditKey: 'k1', apiKeys: 'r1', apiKeyPepper: 'p1', stripeKey: 'v3', mailerPassword: 'v7' });

  @Module({
    imports: [
      KeywardModule.forRoot({
        app: 'billing',
        environment: 'test',
        providers: { test: provider },
        secrets: { auditKey: {}, apiKeys: {}, apiKeyPepper: {}, stripeKey: {}, mailerPassword: {} },
        refresh: false,
        apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
        audit: { key: 'auditKey', file, ...audit },
      }),
    ],
    controllers: [OrdersController, PaymentsController],
    providers: [Farewell],
  })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  if (prefix !== undefined) app.setGlobalPrefix(prefix);
  await app.init();
  open.push(app);
  const get = (path: string, key: string | null = issued.key) => {
    const req = request(app.getHttpServer()).get(path);
    return key === null ? req : req.set('X-API-Key', key);
  };
  return { app, trail: app.get<AuditTrail>(KEYWARD_AUDIT_TRAIL), store: app.get(SecretStore), provider, file, get };
}

/** The records in the file once every pending one is written. */
async function recordsOf(started: Started): Promise<AuditRecord[]> {
  await waitFor(() => started.trail.health().pending === 0, 2000, 'pending audit records');
  const text = await readFile(started.file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** The one `http.request` record of the request whose id the response echoed. */
async function recordOf(started: Started, res: request.Response): Promise<AuditRecord> {
  const id = res.headers['x-request-id'];
  expect(typeof id).toBe('string');
  // The record is made once the response has gone (on 'finish'): it may come a moment after the client has it.
  let found: AuditRecord[] = [];
  for (let i = 0; i < 100 && found.length === 0; i += 1) {
    found = (await recordsOf(started)).filter((r) => r.event === 'http.request' && r.request?.id === id);
    if (found.length === 0) await sleep(10);
  }
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('KeywardModule.forRoot({ audit }) in a real Nest app', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
    open.splice(open.indexOf(s.app), 1); // shared by the tests below, closed after them
  });
  afterAll(async () => {
    await s.app.close();
  });

  it('writes one record per request with the route template, method, status, duration, principal and the secrets read', async () => {
    const res = await s.get('/orders/42').expect(200);
    expect(res.body).toEqual({ id: '42', stripe: STRIPE.length });
    const record = await recordOf(s, res);
    expect(record).toMatchObject({
      event: 'http.request',
      outcome: 'success',
      actor: { type: 'api-key', id: issued.keyId, client: 'billing' },
      request: { method: 'GET', route: '/orders/:id', status: 200 },
    });
    expect(record.request!.id).toMatch(UUID);
    expect(typeof record.request!.durationMs).toBe('number');
    expect(record.request!.durationMs).toBeGreaterThanOrEqual(0);
    // The guard's reads (ring, pepper) are inside the request's context: the middleware runs first.
    expect(record.secrets).toEqual([
      { name: 'apiKeys', version: 'r1' },
      { name: 'apiKeyPepper', version: 'p1' },
      { name: 'stripeKey', version: 'v3' },
    ]);
    expect(record.error).toBeUndefined();
  });

  it("keeps a caller's valid request id, replaces a garbage one, and echoes it", async () => {
    const kept = await s.get('/orders/1').set('X-Request-Id', 'caller-req.42:a').expect(200);
    expect(kept.headers['x-request-id']).toBe('caller-req.42:a');
    expect((await recordOf(s, kept)).request!.id).toBe('caller-req.42:a');

    const garbage = 'not ok/<script>'.repeat(3);
    const replaced = await s.get('/orders/1').set('X-Request-Id', garbage).expect(200);
    expect(replaced.headers['x-request-id']).toMatch(UUID);
    expect((await recordOf(s, replaced)).request!.id).toBe(replaced.headers['x-request-id']);
    expect(await readFile(s.file, 'utf8')).not.toContain('<script>');
  });

  it('names in each record only the secrets its own request read, with concurrent requests interleaved', async () => {
    const [charge, mail] = await Promise.all([s.get('/orders/7/charge').expect(200), s.get('/orders/8/mail').expect(200)]);
    const chargeRecord = await recordOf(s, charge);
    const mailRecord = await recordOf(s, mail);
    expect(chargeRecord.request!.route).toBe('/orders/:id/charge');
    expect(mailRecord.request!.route).toBe('/orders/:id/mail');
    expect(chargeRecord.secrets!.map((r) => r.name)).toEqual(['apiKeys', 'apiKeyPepper', 'stripeKey']);
    expect(mailRecord.secrets).toEqual([
      { name: 'apiKeys', version: 'r1' },
      { name: 'apiKeyPepper', version: 'p1' },
      { name: 'mailerPassword', version: 'v7' },
    ]);
  });

  it("records the guard's 401 as denied with its code, and a request no route matches with route null", async () => {
    const denied = await s.get('/orders/9', null).expect(401);
    expect(await recordOf(s, denied)).toMatchObject({
      outcome: 'denied',
      actor: { type: 'anonymous' },
      error: { code: 'API_KEY_MISSING' },
      request: { route: '/orders/:id', status: 401, method: 'GET' },
    });

    const missing = await s.get('/no/such/route').expect(404);
    const record = await recordOf(s, missing);
    expect(record).toMatchObject({ outcome: 'failure', request: { route: null, status: 404 } });
    expect(record.secrets).toEqual([]);
  });

  it('records a @Public() route as anonymous, with no secrets read', async () => {
    const res = await s.get('/payments/health', null).expect(200);
    expect(await recordOf(s, res)).toMatchObject({ actor: { type: 'anonymous' }, secrets: [], request: { route: '/payments/health' } });
  });

  it('chains every record of the file, and never writes a secret value or the API key', async () => {
    await s.get('/orders/3').expect(200);
    const records = await recordsOf(s);
    expect(records[0]).toMatchObject({ event: 'store.started', actor: { type: 'service', id: 'billing' } });
    // The bootstrap record names what was loaded, by version (those reads came before the trail).
    expect(records[0]!.secrets).toEqual(expect.arrayContaining([{ name: 'stripeKey', version: 'v3' }, { name: 'auditKey', version: 'k1' }]));
    expect(await verifyAuditFile(s.file, AUDIT_KEY)).toMatchObject({ ok: true, records: records.length });
    const text = await readFile(s.file, 'utf8');
    for (const value of [AUDIT_KEY, PEPPER, STRIPE, MAILER, issued.key]) expect(text).not.toContain(value);
  });
});

describe("bodies Nest's body parser refuses", () => {
  it('are answered through the audit middleware: the request id echoed and one record with the status', async () => {
    // Nest mounts its JSON and form parsers before any module's middleware: a refusal of theirs had no record.
    const s = await start();
    const post = () => request(s.app.getHttpServer()).post('/orders/1').set('Content-Type', 'application/json');
    const refused = [
      [await post().send('{"a":').expect(400), 400],
      [await post().set('Content-Encoding', 'x-unknown').send('{}').expect(415), 415],
      [await post().send(`"${'x'.repeat(120_000)}"`).expect(413), 413],
    ] as const;
    for (const [res, status] of refused) {
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect((await recordOf(s, res)).request).toMatchObject({ method: 'POST', route: null, status });
    }
    // A body the parser reads keeps the request in its audit context (the guard's and handler's reads are in the record).
    const read = await s.get('/orders/2').set('Content-Type', 'application/json').send('{"a":1}').expect(200);
    expect((await recordOf(s, read)).secrets).toEqual([
      { name: 'apiKeys', version: 'r1' },
      { name: 'apiKeyPepper', version: 'p1' },
      { name: 'stripeKey', version: 'v3' },
    ]);
  });
});

describe('route templates', () => {
  it('include the global prefix', async () => {
    const s = await start({}, 'api');
    const res = await s.get('/api/orders/5').expect(200);
    expect((await recordOf(s, res)).request!.route).toBe('/api/orders/:id');
    // The middleware is mounted for every path, outside the prefix too.
    const outside = await s.get('/orders/5').expect(404);
    expect((await recordOf(s, outside)).request).toMatchObject({ route: null, status: 404 });
  });

  it('skips what `skip` says, seeing the request URL as it came', async () => {
    const s = await start({ skip: (req) => req.url === '/payments/health' });
    const skipped = await s.get('/payments/health', null).expect(200);
    const kept = await s.get('/orders/1').expect(200);
    await recordOf(s, kept);
    expect(skipped.headers['x-request-id']).toBeUndefined();
    expect((await recordsOf(s)).filter((r) => r.event === 'http.request')).toHaveLength(1);
  });

  it("are built from Nest's metadata when the adapter does not say which path matched", async () => {
    const s = await start();
    const interceptor = new AuditInterceptor(s.trail, new Reflector(), { getGlobalPrefix: () => '/v2/' } as ApplicationConfig);
    const context = {
      getType: () => 'http',
      getClass: () => OrdersController,
      getHandler: () => OrdersController.prototype.charge,
      switchToHttp: () => ({ getRequest: () => ({}) }),
    } as unknown as ExecutionContext;
    const audit = { id: 'r1', secrets: new Map<string, string>(), failClosed: false };
    runWithAuditContext(audit, () => interceptor.intercept(context, { handle: () => of(null) }));
    expect(audit).toMatchObject({ route: '/v2/orders/:id/charge', failClosed: false });
  });

  it('a handler inherited by two controllers gets each controller\'s path (the interceptor remembers per controller and handler)', async () => {
    @Controller('archive')
    class ArchivedOrdersController extends OrdersController {}
    const s = await start();
    const interceptor = new AuditInterceptor(s.trail, new Reflector(), { getGlobalPrefix: () => '' } as ApplicationConfig);
    const routeFor = (controller: object) => {
      const context = {
        getType: () => 'http',
        getClass: () => controller,
        getHandler: () => OrdersController.prototype.charge,
        switchToHttp: () => ({ getRequest: () => ({}) }),
      } as unknown as ExecutionContext;
      const audit: { id: string; secrets: Map<string, string>; failClosed: boolean; route?: string } = { id: 'r', secrets: new Map(), failClosed: false };
      runWithAuditContext(audit, () => interceptor.intercept(context, { handle: () => of(null) }));
      return audit.route;
    };
    expect([routeFor(OrdersController), routeFor(ArchivedOrdersController), routeFor(OrdersController)]).toEqual(['/orders/:id/charge', '/archive/:id/charge', '/orders/:id/charge']);
  });
});

describe('@AuditFailClosed() with a sink that hangs', () => {
  it('answers 503 within writeTimeout, then refuses without running the handler while the trail fails; other routes answer', async () => {
    const sink = new ScriptedTransport('ack');
    // Long enough that "at once" (< WRITE_TIMEOUT) and "held for the record" (>= it) stay apart on a
    // loaded 2-core machine, where one round trip can take a few hundred ms.
    const WRITE_TIMEOUT = 1000;
    const s = await start({ transports: [sink], writeTimeout: WRITE_TIMEOUT });
    await s.get('/payments/payout').expect(200);
    expect(calls.payouts).toBe(1);

    sink.mode = 'silent';
    // Without the decorator a route answers at once: its record is late, not the response.
    const before = Date.now();
    await s.get('/payments/refund').expect(200, { refunded: true });
    expect(Date.now() - before).toBeLessThan(WRITE_TIMEOUT);

    const started = Date.now();
    const held = await s.get('/payments/payout');
    const elapsed = Date.now() - started;
    expect(held.status).toBe(503);
    expect(held.body.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(held.headers['x-request-id']).toMatch(UUID);
    expect(elapsed).toBeGreaterThanOrEqual(WRITE_TIMEOUT - 50);
    expect(elapsed).toBeLessThan(WRITE_TIMEOUT + 1000);
    expect(calls.payouts).toBe(2); // it ran: the trail was not known to fail yet; its answer waited for the record
    expect(s.trail.health().status).toBe('failing');

    const refusedAt = Date.now();
    const refused = await s.get('/payments/payout');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(Date.now() - refusedAt).toBeLessThan(WRITE_TIMEOUT); // refused at once, not held for a record the sink cannot take
    expect(calls.payouts).toBe(2); // the handler did not run
    // The API key guard decides before the audit guard: a request without a key is its 401, not the trail's 503.
    const unkeyed = await s.get('/payments/payout', null);
    expect(unkeyed.status).toBe(401);
    expect(calls.payouts).toBe(2);

    await s.get('/payments/refund').expect(200);
    expect(s.trail.health().status).toBe('failing');

    // The sink comes back: a refused request probes the trail, whose acknowledgement lets payouts through again.
    sink.mode = 'ack';
    await waitFor(() => s.trail.health().pending === 0, WRITE_TIMEOUT * 2 + 2000, 'the hung records to time out');
    await s.get('/payments/payout').expect(503);
    await waitFor(() => s.trail.health().status === 'ok', 2000, 'the probe');
    await s.get('/payments/payout').expect(200);
    expect(calls.payouts).toBe(3);
    const lines = sink.lines.map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.some((r) => r.event === 'audit.probe')).toBe(true);
    expect(lines.filter((r) => r.event === 'http.request' && r.request?.route === '/payments/payout' && r.request.status === 503).length).toBeGreaterThanOrEqual(2);
  });
});

describe('shutdown', () => {
  it('records store events, closes the store before the trail, and flushes every answered request on app.close()', async () => {
    const s = await start();
    const answered = await Promise.all(Array.from({ length: 20 }, (_, i) => s.get(`/orders/${i}`).expect(200)));
    await s.get('/orders/x', null).expect(401);

    s.provider.values['stripeKey'] = canary('stripe-next');
    s.provider.versions['stripeKey'] = 'v4';
    await s.store.refresh('stripeKey');
    const afterRotation = await s.get('/orders/21').expect(200);

    let trailAtStoreClose: string | undefined;
    const closeStore = s.store.close.bind(s.store);
    s.store.close = async () => {
      trailAtStoreClose = s.trail.health().status;
      await closeStore();
    };
    await s.app.close();
    open.splice(open.indexOf(s.app), 1);
    expect(trailAtStoreClose).toBe('ok');
    expect(s.trail.health().status).toBe('closed');

    expect(await verifyAuditFile(s.file, AUDIT_KEY)).toMatchObject({ ok: true });
    const records = (await readFile(s.file, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditRecord);
    const requests = records.filter((r) => r.event === 'http.request');
    expect(requests).toHaveLength(answered.length + 2);
    for (const res of answered) expect(requests.some((r) => r.request!.id === res.headers['x-request-id'])).toBe(true);
    expect(records.find((r) => r.event === 'secret.rotated')).toMatchObject({
      actor: { type: 'service', id: 'billing' },
      details: { secret: 'stripeKey', from: 'v3', to: 'v4' },
    });
    expect(requests.find((r) => r.request!.id === afterRotation.headers['x-request-id'])!.secrets).toContainEqual({ name: 'stripeKey', version: 'v4' });
    // An app provider's own shutdown hook runs before KeywardModule's: its record made it.
    expect(records.at(-1)).toMatchObject({ event: 'app.stopped' });
    const text = await readFile(s.file, 'utf8');
    expect(text).not.toContain(s.provider.values['stripeKey'] as string);
    expect(text).not.toContain(AUDIT_KEY);
  });
});
