import { auditKeyRing, auditStore, createAuditTrail, createEnvelope, SecretStore, type AuditTrail, type Envelope } from '@keyward/core';
import { auditFailClosed, auditRequests, keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey, secretScanningEndpoint } from '@keyward/express';
import express, { type Express } from 'express';
import { createHmac } from 'node:crypto';
import {
  DEMO_SCOPES,
  demoApiKeys,
  demoAuditFile,
  demoCertificates,
  demoHttps,
  demoKek,
  demoMetrics,
  demoPartnerWebhooks,
  demoPayments,
  demoSecretScanning,
  demoStatus,
  demoStoreOptions,
  isOperatorRequest,
  isPartnerId,
  isWebhookSecret,
  openDemoDatabase,
  type DemoHttps,
  type DemoPartnerWebhooks,
  type DemoSecrets,
  type DemoStatus,
} from '@keyward/demo-shared';

export interface DemoApp {
  readonly app: Express;
  readonly store: SecretStore<DemoSecrets>;
  /** The audit trail (`logs/audit.jsonl` beside the `.env` file, or `KEYWARD_AUDIT_FILE`). */
  readonly trail: AuditTrail;
  /** Envelope encryption for fields at rest (partners' webhook secrets), on the backend's KEK. */
  readonly envelope: Envelope;
  /** The status page's data and routes; `status.close()` ends its event streams (before the server closes). */
  readonly status: DemoStatus;
  /**
   * The same app over HTTPS, on a certificate from Vault's PKI engine swapped live on each reissue
   * (Vault backend only; `undefined` otherwise). Not listening until `https.listen(port)`.
   */
  readonly https: DemoHttps | undefined;
  /** Ends the status streams, the HTTPS server and the metrics, closes the database pool and the key ring's Redis follower, then the store, then the audit trail (flushed). */
  close(): Promise<void>;
}

/** Builds the demo: loads its secrets first (start-up fails with every missing one listed), then the routes. */
export async function createDemoApp(envFile: string, log: (line: string) => void = console.log): Promise<DemoApp> {
  const store = await new SecretStore(demoStoreOptions(envFile)).start();
  // Template strings print the redacted form: `[secret database@v2]`.
  store.on('rotated', (e) => log(`secret rotated: ${e.previous} -> ${e.current} (${e.reason})`));
  store.on('refreshFailed', (e) => log(`secret refresh failed: ${e.name} ${e.error.code}`));

  // The audit trail: its own file and logger, never the application's log.
  const trail = await createAuditTrail({ key: store.get('auditKey').reveal(), service: 'demo-express', file: demoAuditFile(envFile) });
  const stopAudit = [auditStore(trail, store), auditKeyRing(trail, store, 'apiKeys')];

  const secretsOnRequest = keywardSecrets(store);
  const apiKeys = demoApiKeys(store, { log });
  const { verifier } = apiKeys;
  const app = express();
  app.disable('x-powered-by');
  // First: a record for every request, naming the secrets it read; not the status page and metrics (polled all day).
  app.use(auditRequests(trail, { skip: isOperatorRequest }));
  app.use(secretsOnRequest);
  // Queries PostgreSQL through the Keyward pool, which follows the credentials' rotations.
  const database = openDemoDatabase(store, log, process.env, trail);
  // HTTPS beside HTTP (Vault backend): the certificate is the `tls` secret, swapped in when the store reissues it.
  const https = demoHttps(store, app, log);
  app.get('/health', keywardHealth(store, { audit: trail, pools: database.pools, tls: demoCertificates(https) }));
  // The served certificate's public facts (serial, notAfter, version): which one a client got.
  app.get('/tls', (_req, res) => {
    if (https === undefined) return void res.status(404).json({ error: { code: 'NOT_CONFIGURED', message: 'This demo serves no HTTPS (Vault backend only).' } });
    res.json(https.info());
  });
  // The operator's live view (names, versions, ages, counts; never a value). Open here because the
  // demo listens on 127.0.0.1 only: a real service puts these routes behind its operators' login.
  const observed = { store, pools: database.pools, apiKeys: verifier, audit: trail, tls: demoCertificates(https) };
  const status = demoStatus({ service: 'keyward demo (express)', ...observed });
  app.get('/status', status.page);
  app.get('/status.json', status.json);
  app.get('/status/events', status.events);
  // Keyward's metrics in Prometheus format, on an OpenTelemetry meter provider of the app's own.
  const metrics = demoMetrics(observed);
  app.get('/metrics', metrics.handle);
  app.get('/', (req, res) => {
    const reader = secretsOnRequest.of(req);
    res.json({
      service: 'keyward demo (express)',
      environment: store.environment,
      secrets: store.names.map((name) => String(reader.get(name as keyof DemoSecrets))),
    });
  });
  // Uses a secret without showing it: a signature made with the session secret. Needs an API key with the `sign` scope.
  // Fail-closed: no signature leaves without its audit record (503 while the trail cannot write).
  app.get('/sign/:text', auditFailClosed(trail), requireApiKey({ verifier, scopes: [DEMO_SCOPES.sign] }), (req: express.Request<{ text: string }>, res) => {
    const key = secretsOnRequest.of(req).get('sessionSecret').reveal();
    res.json({ text: req.params.text, signature: createHmac('sha256', key).update(req.params.text).digest('hex') });
  });
  app.get('/db', requireApiKey({ verifier, scopes: [DEMO_SCOPES.db] }), async (_req, res) => {
    res.json(await database.check());
  });
  // GitHub reports a demo key it found in public code: verified, revoked at once, recorded (Vault backend only).
  const leaks = demoSecretScanning(store, trail);
  if (leaks !== undefined) app.post('/github/secret-scanning', secretScanningEndpoint(leaks.handler));
  // Calls the payment provider with paymentsApiKey through a client rebuilt on each rotation of the key.
  const payments = await demoPayments(store, log);
  app.get('/payments/ping', requireApiKey({ verifier, scopes: [DEMO_SCOPES.sign] }), (_req, res, next) => {
    const answer = payments.ping();
    if (answer === undefined) return void res.status(404).json({ error: { code: 'NOT_CONFIGURED', message: 'This demo runs without a payment provider.' } });
    answer.then((body) => res.json(body), next);
  });
  // Which clients still use a previous key (in its grace), so an operator knows when to end it early.
  app.get('/admin/api-keys/usage', requireApiKey({ verifier, scopes: [DEMO_SCOPES.admin] }), (_req, res) => {
    res.json({ previousKeyUses: verifier.usage() });
  });
  // Partners' webhook secrets, stored sealed (envelope encryption) and used to sign without being shown.
  const envelope = createEnvelope({ kek: demoKek(store) });
  const webhooks = demoPartnerWebhooks(database, envelope);
  const webhooksAdmin = requireApiKey({ verifier, scopes: [DEMO_SCOPES.webhooks] });
  const withWebhooks =
    (handler: (w: DemoPartnerWebhooks, req: express.Request<{ partner: string }>, res: express.Response) => Promise<void>) =>
    async (req: express.Request<{ partner: string }>, res: express.Response, next: express.NextFunction) => {
      if (webhooks === undefined) return void res.status(404).json({ error: { code: 'NOT_CONFIGURED', message: 'This demo runs without a database.' } });
      if (req.params.partner !== undefined && !isPartnerId(req.params.partner)) return void res.status(400).json({ error: { code: 'BAD_REQUEST', message: 'A partner id is lower-case letters, digits and hyphens.' } });
      handler(webhooks, req, res).catch(next);
    };
  app.put('/partners/:partner/webhook-secret', webhooksAdmin, express.json({ limit: '8kb' }), withWebhooks(async (w, req, res) => {
    const secret: unknown = req.body?.secret;
    if (!isWebhookSecret(secret)) return void res.status(400).json({ error: { code: 'BAD_REQUEST', message: 'secret: a string of 16 to 4096 characters.' } });
    res.json(await w.setSecret(req.params.partner, secret));
  }));
  app.post('/partners/:partner/webhook-test', requireApiKey({ verifier, scopes: [DEMO_SCOPES.sign] }), withWebhooks(async (w, req, res) => {
    const signed = await w.signTestEvent(req.params.partner);
    if (signed === undefined) return void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No webhook secret for this partner.' } });
    res.json(signed);
  }));
  app.get('/admin/envelope', webhooksAdmin, withWebhooks(async (w, _req, res) => void res.json(await w.status())));
  app.post('/admin/envelope/rewrap', webhooksAdmin, withWebhooks(async (w, _req, res) => void res.json(await w.rewrap())));
  app.use(keywardErrorHandler({ onError: (err) => log(`keyward error: ${err.message}`) }));
  return {
    app,
    store,
    trail,
    envelope,
    status,
    https,
    close: async () => {
      status.close();
      await https?.close();
      await metrics.close();
      await payments.close();
      await leaks?.close();
      envelope.close();
      await envelope.kek.close?.();
      await database.close();
      await apiKeys.close();
      await store.close();
      for (const stop of stopAudit) stop();
      await trail.close();
    },
  };
}
