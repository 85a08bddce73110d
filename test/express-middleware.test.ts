import { afterEach, describe, expect, it } from '@jest/globals';
import { SecretStore } from '@keyward/core';
import { keywardErrorHandler, keywardHealth, keywardSecrets } from '@keyward/express';
import express from 'express';
import request from 'supertest';
import { canary, memoryProvider, waitFor } from '@keyward/test-support';

describe('@keyward/express in a real Express app', () => {
  const stores: SecretStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  async function appWith(options: { maxStaleness?: string } = {}) {
    const apiToken = canary();
    const password = canary();
    const provider = memoryProvider({ apiToken, database: { username: 'app', password } });
    const store = await new SecretStore({
      app: 'shop',
      environment: 'test',
      providers: { test: provider },
      secrets: { apiToken: {}, database: { key: 'password', refresh: { interval: 20, jitter: 0 } } },
      maxStaleness: options.maxStaleness ?? '1h',
    }).start();
    stores.push(store as unknown as SecretStore);
    const secrets = keywardSecrets(store);
    const errors: string[] = [];
    const app = express();
    app.use(secrets);
    app.get('/health', keywardHealth(store));
    app.get('/token-length', (req, res) => {
      // Typed: 'apiToken' is a declared name.
      res.json({ length: (secrets.of(req).get('apiToken').reveal() as string).length });
    });
    app.get('/database', (req, res) => {
      const db = secrets.of(req).get('database');
      res.json({ secret: db, matches: db.reveal() === password });
    });
    app.get('/undeclared', (req) => {
      (req.secrets!.get as (n: string) => unknown)('adminPassword');
    });
    app.use(keywardErrorHandler({ onError: (err) => errors.push(`${err.message} ${String(err.cause)}`) }));
    return { app, store, provider, apiToken, password, errors };
  }

  it('gives handlers the secrets and never puts a value in a response', async () => {
    const { app, apiToken, password } = await appWith();
    const responses = await Promise.all([
      request(app).get('/token-length').expect(200),
      request(app).get('/database').expect(200),
      request(app).get('/health').expect(200),
    ]);
    expect(responses[0]!.body).toEqual({ length: apiToken.length });
    expect(responses[1]!.body).toEqual({ secret: '[secret database@v1]', matches: true });
    expect(responses[2]!.body.status).toBe('ok');
    for (const res of responses) {
      expect(res.text).not.toContain(apiToken);
      expect(res.text).not.toContain(password);
    }
  });

  it('refuses an undeclared secret with a safe 500 and a stable code', async () => {
    const { app, errors } = await appWith();
    const res = await request(app).get('/undeclared').expect(500);
    expect(res.body).toEqual({ error: { code: 'SECRET_NOT_DECLARED', message: 'This service is misconfigured.' } });
    expect(res.text).not.toContain('adminPassword');
    expect(errors[0]).toContain('adminPassword');
  });

  it('answers 503 with Retry-After once a secret is past maxStaleness, and health says down', async () => {
    const { app, store, provider, password, errors } = await appWith({ maxStaleness: '150ms' });
    provider.down = true;
    await waitFor(() => store.health().status === 'down', 3000, 'health down');
    const res = await request(app).get('/database').expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.error.code).toBe('SECRET_STALE');
    const health = await request(app).get('/health').expect(503);
    expect(health.body.checks.store.secrets.database).toMatchObject({ status: 'down', error: 'PROVIDER_UNAVAILABLE' });
    for (const text of [res.text, health.text, ...errors]) expect(text).not.toContain(password);
  });
});
