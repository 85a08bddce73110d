import { afterAll, beforeAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { auditStore, createApiKeyVerifier, createAuditTrail, SecretStore, type AuditTrail, type Pepper } from '@keyward/core';
import { auditRequests, keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey } from '@keyward/express';
import { canary, memoryProvider } from '@keyward/test-support';
import express, { type ErrorRequestHandler } from 'express';
import winston from 'winston';
import { captureConsole, describeFuzzedApp } from './support/fuzz-suite.js';
import { fuzzKeyRing, secretParts } from './support/fuzz-http.js';
import { FuzzOracle } from './support/fuzz-oracle.js';
import { AuditFileTail } from './support/raw-http.js';

// Express with requireApiKey, auditRequests, keywardSecrets and keywardErrorHandler, on a real
// socket, fed raw bytes (see test/support/fuzz-http.ts for the requests, fuzz-oracle.ts for the
// properties). Random on every run; fast-check prints the seed and the request when one fails.

const AUDIT_KEY = randomBytes(32);
const PEPPER = canary('pepper');
const API_TOKEN = canary('token');
const DB_PASSWORD = canary('password');
const keys = fuzzKeyRing(PEPPER);

let dir: string;
let file: string;
let store: SecretStore;
let trail: AuditTrail;
let server: ReturnType<express.Express['listen']>;
let oracle: FuzzOracle;
let tail: AuditFileTail;
const logged: string[] = [];
const restoreConsole = captureConsole(logged);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-fuzz-express-'));
  file = join(dir, 'audit.jsonl');
  const provider = memoryProvider({ apiToken: API_TOKEN, database: { username: 'app', password: DB_PASSWORD }, apiKeys: keys.ring, apiKeyPepper: PEPPER });
  provider.versions = { apiToken: 'v1', database: 'v2', apiKeys: 'r1', apiKeyPepper: 'p1' };
  store = await new SecretStore({
    app: 'shop',
    environment: 'test',
    providers: { test: provider },
    secrets: { apiToken: {}, database: {}, apiKeys: {}, apiKeyPepper: {} },
    refresh: false,
  }).start();
  trail = await createAuditTrail({ key: AUDIT_KEY, service: 'shop', file });
  auditStore(trail, store);

  // The app's own logger, as an app would have one: requests, Keyward errors, anything unexpected.
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (logged.push(String(chunk)), done()) }) })],
  });
  const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() as Pepper });
  const secrets = keywardSecrets(store);
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(auditRequests(trail));
  app.use((req, res, next) => {
    res.on('finish', () => logger.info('request', { method: req.method, url: req.originalUrl, status: res.statusCode }));
    next();
  });
  app.use(express.json(), express.urlencoded({ extended: true }));
  app.use(secrets);
  app.get('/health', keywardHealth(store, { audit: trail }));
  app.get('/orders/:id', requireApiKey({ verifier, scopes: ['orders:read'] }), (req, res) => {
    const token = secrets.of(req).get('apiToken').reveal() as string;
    // The Secret itself in the body: it serialises redacted.
    res.set('X-Handler', 'orders').json({ id: req.params.id, client: req.apiKey!.client, token: token.length, database: secrets.of(req).get('database') });
  });
  app.get('/admin', requireApiKey({ verifier, scopes: ['admin'] }), (_req, res) => {
    res.set('X-Handler', 'admin').json({ ok: true });
  });
  app.use(keywardErrorHandler({ onError: (err) => logger.warn(err.message, { code: err.code }) }));
  const last: ErrorRequestHandler = (err: { status?: unknown; message?: unknown; stack?: unknown }, _req, res, _next) => {
    // What finalhandler does: a 4xx the router chose (an undecodable path) stays one, anything else is a 500.
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    logger.error('request failed', { status, message: String(err.message), stack: String(err.stack) });
    if (!res.headersSent) res.status(status).json({ error: { code: status === 500 ? 'INTERNAL' : 'BAD_REQUEST' } });
  };
  app.use(last);

  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  tail = new AuditFileTail(file, () => trail.health().pending === 0);
  oracle = new FuzzOracle({
    port: (server.address() as AddressInfo).port,
    audit: tail,
    logs: () => logged.join('\n'),
    canaries: [API_TOKEN, DB_PASSWORD, PEPPER, AUDIT_KEY.toString('hex'), AUDIT_KEY.toString('base64'), ...secretParts(keys), ...keys.ring.keys.map((k) => k.hmac)],
  });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await trail?.close();
  await store?.close();
  restoreConsole();
  await rm(dir, { recursive: true, force: true });
});

describeFuzzedApp('Express over raw HTTP: hostile requests', keys, () => ({ oracle, tail, file, auditKey: AUDIT_KEY }));
