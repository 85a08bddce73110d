import { SecretStore } from '@keyward/core';
import { keywardErrorHandler, keywardHealth, keywardSecrets } from '@keyward/express';
import express, { type Express } from 'express';
import { createHmac } from 'node:crypto';
import { demoStoreOptions, openDemoDatabase, type DemoSecrets } from '@keyward/demo-shared';

export interface DemoApp {
  readonly app: Express;
  readonly store: SecretStore<DemoSecrets>;
  /** Closes the database pool, then the store. */
  close(): Promise<void>;
}

/** Builds the demo: loads its secrets first (start-up fails with every missing one listed), then the routes. */
export async function createDemoApp(envFile: string, log: (line: string) => void = console.log): Promise<DemoApp> {
  const store = await new SecretStore(demoStoreOptions(envFile)).start();
  // Template strings print the redacted form: `[secret database@v2]`.
  store.on('rotated', (e) => log(`secret rotated: ${e.previous} -> ${e.current} (${e.reason})`));
  store.on('refreshFailed', (e) => log(`secret refresh failed: ${e.name} ${e.error.code}`));

  const secretsOnRequest = keywardSecrets(store);
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
  // Uses a secret without showing it: a signature made with the session secret.
  app.get('/sign/:text', (req, res) => {
    const key = secretsOnRequest.of(req).get('sessionSecret').reveal();
    res.json({ text: req.params.text, signature: createHmac('sha256', key).update(req.params.text).digest('hex') });
  });
  // Queries PostgreSQL through the Keyward pool, which follows the credentials' rotations.
  const database = openDemoDatabase(store, log);
  app.get('/db', async (_req, res) => {
    res.json(await database.check());
  });
  app.use(keywardErrorHandler({ onError: (err) => log(`keyward error: ${err.message}`) }));
  return {
    app,
    store,
    close: async () => {
      await database.close();
      await store.close();
    },
  };
}
