import { SecretStore } from '@keyward/core';
import { keywardErrorHandler, keywardHealth, keywardSecrets, requireApiKey } from '@keyward/express';
import express, { type Express } from 'express';
import { createHmac } from 'node:crypto';
import { DEMO_SCOPES, demoApiKeys, demoStoreOptions, openDemoDatabase, type DemoSecrets } from '@keyward/demo-shared';

export interface DemoApp {
  readonly app: Express;
  readonly store: SecretStore<DemoSecrets>;
  /** Closes the database pool and the key ring's Redis follower, then the store. */
  close(): Promise<void>;
}

/** Builds the demo: loads its secrets first (start-up fails with every missing one listed), then the routes. */
export async function createDemoApp(envFile: string, log: (line: string) => void = console.log): Promise<DemoApp> {
  const store = await new SecretStore(demoStoreOptions(envFile)).start();
  // Template strings print the redacted form: `[secret database@v2]`.
  store.on('rotated', (e) => log(`secret rotated: ${e.previous} -> ${e.current} (${e.reason})`));
  store.on('refreshFailed', (e) => log(`secret refresh failed: ${e.name} ${e.error.code}`));

  const secretsOnRequest = keywardSecrets(store);
  const apiKeys = demoApiKeys(store, { log });
  const { verifier } = apiKeys;
  const app = express();
  app.disable('x-powered-by');
  app.use(secretsOnRequest);
  app.get('/health', keywardHealth(store));
  app.get('/', (req, res) => {
    const reader = secretsOnRequest.of(req);
    res.json({
      service: 'keyward demo (express)',
      environment: store.environment,
      secrets: store.names.map((name) => String(reader.get(name as keyof DemoSecrets))),
    });
  });
  // Uses a secret without showing it: a signature made with the session secret. Needs an API key with the `sign` scope.
  app.get('/sign/:text', requireApiKey({ verifier, scopes: [DEMO_SCOPES.sign] }), (req: express.Request<{ text: string }>, res) => {
    const key = secretsOnRequest.of(req).get('sessionSecret').reveal();
    res.json({ text: req.params.text, signature: createHmac('sha256', key).update(req.params.text).digest('hex') });
  });
  // Queries PostgreSQL through the Keyward pool, which follows the credentials' rotations.
  const database = openDemoDatabase(store, log);
  app.get('/db', requireApiKey({ verifier, scopes: [DEMO_SCOPES.db] }), async (_req, res) => {
    res.json(await database.check());
  });
  // Which clients still use a previous key (in its grace), so an operator knows when to end it early.
  app.get('/admin/api-keys/usage', requireApiKey({ verifier, scopes: [DEMO_SCOPES.admin] }), (_req, res) => {
    res.json({ previousKeyUses: verifier.usage() });
  });
  app.use(keywardErrorHandler({ onError: (err) => log(`keyward error: ${err.message}`) }));
  return {
    app,
    store,
    close: async () => {
      await database.close();
      await apiKeys.close();
      await store.close();
    },
  };
}
