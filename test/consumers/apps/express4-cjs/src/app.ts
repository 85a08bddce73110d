import { createHmac } from 'node:crypto';
import { auditKeyRing, auditStore, createApiKeyVerifier, createAuditTrail, createEnvelope, createSecretStore, dotenvProvider, envProvider, keywardMetrics, localKek } from '@keyward/core';
import { auditRequests, keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey } from '@keyward/express';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express';
import { z } from 'zod';

export interface ShopApp {
  readonly app: express.Express;
  /** Closes the store, then the audit trail (flushing its last records). */
  close(): Promise<void>;
}

/** Loads the secrets first (start-up fails naming every missing one), then builds the routes. */
export async function createApp(options: { auditFile?: string } = {}): Promise<ShopApp> {
  const store = await createSecretStore({
    app: 'shop',
    providers: { development: dotenvProvider(), '*': envProvider() },
    secrets: {
      stripeKey: {},
      apiKeys: { format: 'json' },
      apiKeyPepper: { schema: z.string().min(32) },
      auditKey: { schema: z.string().min(32) },
      envelopeKek: {},
    },
  });
  const trail = await createAuditTrail({ key: store.get('auditKey').reveal(), service: 'shop', file: options.auditFile ?? 'logs/audit.jsonl' });
  const stopAudit = [auditStore(trail, store), auditKeyRing(trail, store, 'apiKeys')];
  const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() });
  const secrets = keywardSecrets(store);
  // Keyward's metrics on the app's own OpenTelemetry SDK, scraped by Prometheus at GET /metrics.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const metrics = keywardMetrics({ store, apiKeys: verifier, audit: trail }, { meter: meterProvider.getMeter('shop') });

  const app = express();
  app.use(auditRequests(trail));
  app.use(secrets);
  app.get('/', (req, res) => {
    res.json({ service: 'shop', stripeKey: String(secrets.of(req).get('stripeKey')) });
  });
  app.get('/health', keywardHealth(store, { audit: trail }));
  app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res));
  app.get('/charges', requireApiKey({ verifier, scopes: ['charges:read'] }), (req, res) => {
    const stripeKey = secrets.of(req).get('stripeKey').reveal() as string;
    res.json({ client: req.apiKey?.client, signature: createHmac('sha256', stripeKey).update('charges').digest('hex') });
  });
  // Notes stored sealed (envelope encryption under a local KEK declared among the secrets).
  const envelope = createEnvelope({ kek: localKek({ keyId: 'shop', keys: () => store.get('envelopeKek').reveal() }) });
  const notes = new Map<string, string>();
  app.put('/notes/:id', requireApiKey({ verifier, scopes: ['charges:read'] }), express.json(), async (req, res, next) => {
    try {
      const sealed = await envelope.encrypt(String(req.body.text), { context: { note: req.params.id } });
      notes.set(req.params.id, sealed);
      res.json({ id: req.params.id, sealed });
    } catch (err) {
      next(err);
    }
  });
  app.get('/notes/:id', requireApiKey({ verifier, scopes: ['charges:read'] }), async (req, res, next) => {
    try {
      res.json({ id: req.params.id, text: await envelope.decryptText(notes.get(req.params.id) ?? '', { context: { note: req.params.id } }) });
    } catch (err) {
      next(err);
    }
  });
  app.use(keywardErrorHandler());

  return {
    app,
    close: async () => {
      metrics.stop();
      await meterProvider.shutdown();
      envelope.close();
      await store.close();
      for (const stop of stopAudit) stop();
      await trail.close();
    },
  };
}
