// The Express app under test: the demo's store declarations and backends (demoStoreOptions),
// its audit trail, a Keyward pool on the database credentials, API keys from the ring in the
// backend, and four routes: one that reads a secret, one that queries PostgreSQL, one that is
// fail-closed, and health. Built the way apps/demo-express builds itself.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auditKeyRing, auditPool, auditStore, createApiKeyVerifier, createAuditTrail, SecretStore, type AuditTrail, type AuditTrailOptions } from '@keyward/core';
import { demoStoreOptions, type DemoSecrets } from '@keyward/demo-shared';
import { auditFailClosed, auditRequests, keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey } from '@keyward/express';
import { KeywardPgPool } from '@keyward/pg';
import { followKeyRing, type KeyRingFollower } from '@keyward/redis';
import express from 'express';
import { ENVIRONMENT, SCOPE } from './backends.js';

export interface ChaosAppOptions {
  /** The backend's environment (VAULT_ADDR and AppRole ids, or the Secrets Manager endpoint; DEMO_DB_PORT). */
  readonly env: Readonly<Record<string, string>>;
  readonly auditFile: string;
  /** The trail's transports instead of the file (the audit-sink-stall scenario's). */
  readonly transports?: AuditTrailOptions['transports'];
  /** Follow the key ring through this Redis (polling every `pollWhileAwayMs` while it is away). */
  readonly redisUrl?: string;
  readonly pollWhileAwayMs?: number;
  /** Default 0: a free port. */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

/** A running chaos app (either framework): where it listens and its parts, for the harness to watch. */
export interface ChaosApp {
  readonly url: string;
  readonly store: SecretStore<DemoSecrets>;
  readonly trail: AuditTrail;
  readonly pool: KeywardPgPool;
  readonly follower?: KeyRingFollower;
  /** Stops the HTTP server (connections closed), then the pool, the follower, the store and the trail (flushed). */
  close(): Promise<void>;
  /** For the child process: stop accepting, let in-flight requests finish, then close (demo-express's SIGTERM path). */
  readonly server: Server;
}

/** The store every chaos app uses: the demo's declarations, static secrets refreshed every 10 s. */
export function chaosStore(env: Readonly<Record<string, string>>): SecretStore<DemoSecrets> {
  const options = demoStoreOptions('/nonexistent/.env', { ...env });
  return new SecretStore({ ...options, environment: ENVIRONMENT, refresh: { interval: '10s', jitter: 0.1 } });
}

/** The pool every chaos app uses: waits at most 5 s for a connection, 2 s for PostgreSQL to answer a connect. */
export function chaosPool(store: SecretStore<DemoSecrets>, env: Readonly<Record<string, string>>): KeywardPgPool {
  const pool = new KeywardPgPool({ store, secret: 'database', host: '127.0.0.1', port: Number(env['DEMO_DB_PORT']), database: env['DEMO_DB_NAME'] ?? 'app', max: 10, min: 2, acquireTimeout: '5s', connectTimeout: '2s' });
  pool.on('error', () => {}); // an idle connection ended by the server (pg-restart): the pool replaces it
  return pool;
}

export const POOL_ACQUIRE_TIMEOUT_MS = 5_000;

/** What `/secret/:n` and `/sign/:n` answer: an HMAC of `n` under the session secret (the load checks it). */
export function signatureOf(sessionSecret: string, n: string): string {
  return createHmac('sha256', sessionSecret).update(n).digest('hex');
}

export async function startExpressChaosApp(options: ChaosAppOptions): Promise<ChaosApp> {
  const log = options.log ?? (() => {});
  const store = await chaosStore(options.env).start();
  const trail = await createAuditTrail({
    key: store.get('auditKey').reveal(),
    service: 'chaos-express',
    ...(options.transports === undefined ? { file: options.auditFile } : { transports: options.transports }),
  });
  const stopAudit = [auditStore(trail, store), auditKeyRing(trail, store, 'apiKeys')];
  const pool = chaosPool(store, options.env);
  stopAudit.push(auditPool(trail, pool, 'database'));
  const follower = options.redisUrl === undefined ? undefined : followKeyRing(store, 'apiKeys', { url: options.redisUrl, pollWhileAwayMs: options.pollWhileAwayMs ?? 5000, onStateChange: (s) => log(`key ring follower: ${s}`) });
  const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() });
  const secrets = keywardSecrets(store);
  const apiKey = requireApiKey({ verifier, scopes: [SCOPE] });

  const app = express();
  app.disable('x-powered-by');
  app.use(auditRequests(trail));
  app.use(secrets);
  app.get('/health', keywardHealth(store, { audit: trail, pools: { database: pool } }));
  app.get('/secret/:n', apiKey, (req: express.Request<{ n: string }>, res) => {
    res.json({ n: req.params.n, signature: signatureOf(secrets.of(req).get('sessionSecret').reveal(), req.params.n) });
  });
  app.get('/db/:n', apiKey, async (req: express.Request<{ n: string }>, res) => {
    const { rows } = await pool.query<{ v: number }>('SELECT $1::int * 2 AS v', [Number(req.params.n)]);
    res.json({ n: req.params.n, v: rows[0]?.v });
  });
  app.get('/sign/:n', auditFailClosed(trail), apiKey, (req: express.Request<{ n: string }>, res) => {
    res.json({ n: req.params.n, signature: signatureOf(secrets.of(req).get('sessionSecret').reveal(), req.params.n) });
  });
  app.use(keywardErrorHandler({ onError: (err) => log(`keyward error: ${err.code}`) }));
  // Anything else (a driver's error): a 500 naming its code only, for the load's failure reasons.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const code = (err as { code?: unknown } | undefined)?.code;
    res.status(500).json({ error: { code: typeof code === 'string' ? code : 'INTERNAL' } });
  });

  const server = createServer(app);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    trail,
    pool,
    ...(follower === undefined ? {} : { follower }),
    server,
    close() {
      closing ??= (async () => {
        if (server.listening) {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
        }
        await pool.end().catch(() => {});
        await follower?.close();
        await store.close();
        for (const stop of stopAudit) stop();
        await trail.close();
      })();
      return closing;
    },
  };
}
