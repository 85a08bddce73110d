import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type HealthStatus } from '@keyward/core';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultKv } from '@keyward/vault';
import { canary, expectNoCanary } from '@keyward/test-support';
import { vaultAdmin } from '@keyward/test-support/vault';

describe('a sealed Vault', () => {
  let server: VaultDevServer;
  const rootToken = canary('root-token');

  beforeAll(async () => {
    server = await startVaultDevServer({ rootToken });
  });
  afterAll(async () => {
    await server.close();
  });

  it('keeps serving the last values for 10 s (health degraded), recovers to ok after unseal, and never shows a value or token', async () => {
    const admin = vaultAdmin(server.url, rootToken);
    const password = canary('db-password');
    const apiKey = canary('api-key');
    await admin.writeKv('billing/production/database', { username: 'billing', password });
    await admin.writeKv('billing/production/stripe', { apiKey });
    // A renewable token of its own, renewed in the background through the outage.
    const token = await admin.createToken({ policies: ['root'], ttl: '15s' });
    const vault = createVaultConnection({ endpoint: server.url, auth: tokenAuth({ token }) });
    const store = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: vault }) },
      secrets: { database: {}, stripe: { key: 'apiKey' } },
      refresh: { interval: 500, jitter: 0 },
    }).start();
    const captured: unknown[] = [];
    for (const event of ['refreshFailed', 'recovered', 'stale', 'rotated'] as const) store.on(event, (e: unknown) => captured.push({ event, e }));
    for (const event of ['login', 'tokenRenewed', 'authFailed'] as const) vault.on(event, (e: unknown) => captured.push({ event, e }));
    try {
      const seen = new Set<HealthStatus>();
      server.seal(10_000);
      const sealedAt = Date.now();
      const firstFailure = new Promise((resolve) => store.once('refreshFailed', resolve));
      // Every 100 ms while sealed: the values are there; once a refresh has failed, health says so.
      let failed = false;
      void firstFailure.then(() => (failed = true));
      while (Date.now() - sealedAt < 9500) {
        expect(store.get('database').reveal()).toEqual({ username: 'billing', password });
        expect(store.get('stripe').reveal()).toBe(apiKey);
        const health = store.health();
        if (failed) seen.add(health.status);
        captured.push(health);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failed).toBe(true);
      expect(seen).toEqual(new Set(['degraded']));
      const failures = captured.filter((c): c is { event: string; e: { error: { code: string; message: string } } } => (c as { event?: string }).event === 'refreshFailed');
      expect(failures.length).toBeGreaterThanOrEqual(10);
      expect(failures[0]!.e.error).toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
        retryable: true,
        message: 'secret "database" (vault kv secret/data/billing/production/database): KV metadata read: GET /v1/secret/metadata/billing/production/database: Vault is sealed (503)',
      });
      const refreshError = await store.refresh().catch((e: unknown) => e);
      captured.push(refreshError);
      expect(refreshError).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });

      // Vault unseals itself after 10 s: the next refresh succeeds and health is ok again.
      const deadline = Date.now() + 5000;
      while (store.health().status !== 'ok' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(store.health().status).toBe('ok');
      expect(captured.some((c) => (c as { event?: string }).event === 'recovered')).toBe(true);
      expect(store.get('database').version).toBe('v1');
    } finally {
      await store.close();
      await vault.close();
    }
    const texts = Object.fromEntries(captured.map((c, i) => [`captured[${i}]`, `${inspect(c, { depth: 12, showHidden: true })}\n${JSON.stringify(c)}`]));
    expectNoCanary(texts, password, apiKey, token, rootToken);
  }, 30_000);
});
