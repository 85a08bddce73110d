import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KeywardError, SecretStore, SecretsUnavailableError, type SecretRef } from '@keyward/core';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultKv, VaultRequestError, type VaultConnection } from '@keyward/vault';
import { canary, expectNoCanary, waitFor } from '@keyward/test-support';
import { startRecordingProxy, vaultAdmin, type RecordingProxy, type VaultAdmin } from '@keyward/test-support/vault';

const ref = (path: string): SecretRef => ({ name: 'x', path, app: 'billing', environment: 'production' });

describe('Vault failures as Keyward errors', () => {
  let server: VaultDevServer;
  let admin: VaultAdmin;
  let proxy: RecordingProxy;
  let token: string;
  const rootToken = canary('root-token');
  const value = canary('value');
  const thrown: unknown[] = [];
  const open: VaultConnection[] = [];
  const connect = (options: { endpoint?: string; timeout?: number } = {}) => {
    const vault = createVaultConnection({ endpoint: server.url, auth: tokenAuth({ token }), ...options });
    open.push(vault);
    return vault;
  };
  const failureOf = async (promise: Promise<unknown>): Promise<KeywardError> => {
    const err = await promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );
    thrown.push(err);
    expect(err).toBeInstanceOf(KeywardError);
    return err as KeywardError;
  };

  beforeAll(async () => {
    server = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(server.url, rootToken);
    proxy = await startRecordingProxy(server.url);
    await admin.writeKv('billing/production/public', { value });
    await admin.writeKv('billing/production/private', { value });
    await admin.putPolicy(
      'billing-but-private',
      'path "secret/data/billing/production/*" { capabilities = ["read"] }\npath "secret/data/billing/production/private" { capabilities = ["deny"] }\n',
    );
    token = await admin.createToken({ policies: ['billing-but-private'], ttl: '1h' });
  });
  afterEach(async () => {
    server.setLatency(0);
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
    // Whatever was thrown in any test: neither the token nor a value shows, however it is printed.
    expect(thrown.length).toBeGreaterThanOrEqual(6);
    const texts = Object.fromEntries(thrown.map((e, i) => [`thrown[${i}]`, `${inspect(e, { depth: 12, showHidden: true })}\n${JSON.stringify(e)}\n${String(e)}`]));
    expectNoCanary(texts, token, rootToken, value);
  });

  it('maps a policy denial to PERMISSION_DENIED and a missing secret to SECRET_NOT_FOUND, in one start-up error', async () => {
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: connect() }) },
      secrets: { public: { key: 'value' }, private: {}, missing: {} },
    });
    const err = (await failureOf(store.start())) as SecretsUnavailableError;
    expect(err.problems).toEqual([
      {
        secret: 'private',
        location: 'vault kv secret/data/billing/production/private',
        code: 'PERMISSION_DENIED',
        message: 'KV read: GET /v1/secret/data/billing/production/private: Vault refused the request (403): 1 error occurred: * permission denied',
      },
      { secret: 'missing', location: 'vault kv secret/data/billing/production/missing', code: 'SECRET_NOT_FOUND', message: 'Vault has no secret there (404)' },
    ]);
    const missing = await failureOf(vaultKv({ connection: connect() }).read(ref('billing/production/missing'), { signal: AbortSignal.timeout(5000) }));
    expect(missing).toMatchObject({ code: 'SECRET_NOT_FOUND', message: 'Vault has no secret there (404)' });
    const denied = await failureOf(vaultKv({ connection: connect() }).read(ref('billing/production/private'), { signal: AbortSignal.timeout(5000) }));
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(denied.cause).toBeInstanceOf(VaultRequestError);
    expect(denied.cause).toMatchObject({ status: 403, method: 'GET', path: 'secret/data/billing/production/private' });
  });

  it('falls back to plain data reads, once and for all, when the token may not read metadata', async () => {
    proxy.calls.length = 0;
    const store = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: connect({ endpoint: proxy.url }) }) },
      secrets: { public: { key: 'value' } },
      refresh: false,
    }).start();
    try {
      await store.refresh();
      await store.refresh();
      expect(proxy.count('GET', '/v1/secret/metadata/billing/production/public', 403)).toBe(1);
      expect(proxy.count('GET', '/v1/secret/data/billing/production/public', 200)).toBe(3);
      expect(store.health().status).toBe('ok');
    } finally {
      await store.close();
    }
  });

  it('maps a dropped connection to PROVIDER_UNAVAILABLE (retryable)', async () => {
    const provider = vaultKv({ connection: connect() });
    expect(await provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) })).toMatchObject({ version: 'v1' });
    server.dropConnections(1);
    const err = await failureOf(provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) }));
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true, message: expect.stringMatching(/Vault could not be reached \((ECONNRESET|EPIPE|ENETWORK)\)$/) });
    // The next call opens a new connection and works.
    expect(await provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) })).toMatchObject({ version: 'v1' });
  });

  it('maps latency beyond the store\'s readTimeout to PROVIDER_TIMEOUT, and ends the HTTP call', async () => {
    const vault = connect({ endpoint: proxy.url });
    // Logged in already: the read itself is what runs late. (A login is shared by every caller,
    // so one caller's abort leaves it running, bounded by the connection's timeout.)
    await vault.request({ method: 'GET', path: 'auth/token/lookup-self' });
    server.setLatency(3000);
    proxy.calls.length = 0;
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: vault }) },
      secrets: { public: {} },
      readTimeout: '200ms',
      bootstrapRetries: 0,
    });
    const started = Date.now();
    const err = (await failureOf(store.start())) as SecretsUnavailableError;
    expect(Date.now() - started).toBeLessThan(2000); // settled by the 200 ms readTimeout, long before Vault's 3 s answer
    expect(err.problems).toEqual([
      {
        secret: 'public',
        location: 'vault kv secret/data/billing/production/public',
        code: 'PROVIDER_TIMEOUT',
        // The store's own words: its read timeout settles the read before the provider reports back.
        message: 'no answer within readTimeout (200 ms)',
      },
    ]);
    // The abort reached the HTTP call: the proxy saw the client leave before Vault answered.
    // The proxy notices the client leaving on its socket's close, which can come after the rejection.
    await waitFor(() => proxy.calls.every((c) => c.abandoned), 5000, 'the proxy to see the client leave');
    expect(proxy.calls.map((c) => [c.path, c.abandoned])).toEqual([['/v1/secret/data/billing/production/public', true]]);
  });

  it('maps latency beyond the connection\'s own timeout to PROVIDER_TIMEOUT', async () => {
    const provider = vaultKv({ connection: connect({ timeout: 200 }) });
    await provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) });
    server.setLatency(800);
    const err = await failureOf(provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) }));
    expect(err).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      retryable: true,
      message: 'KV read: GET /v1/secret/data/billing/production/public: Vault did not answer in time',
    });
  });

  it('maps a rate limit (429) to PROVIDER_UNAVAILABLE (retryable)', async () => {
    const provider = vaultKv({ connection: connect() });
    await provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) });
    await admin.call('POST', 'sys/quotas/rate-limit/public-reads', { path: 'secret/data/billing/production/public', rate: 1, interval: '30s' });
    try {
      await provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) });
      const err = await failureOf(provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) }));
      expect(err).toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
        retryable: true,
        message: 'KV read: GET /v1/secret/data/billing/production/public: Vault is rate limiting or standing by (429): request path "secret/data/billing/production/public": rate limit quota exceeded',
      });
    } finally {
      await admin.call('DELETE', 'sys/quotas/rate-limit/public-reads');
    }
  });

  it('maps an unreachable Vault to PROVIDER_UNAVAILABLE', async () => {
    const provider = vaultKv({ connection: connect({ endpoint: 'http://127.0.0.1:9' }) });
    const err = await failureOf(provider.read(ref('billing/production/public'), { signal: AbortSignal.timeout(5000) }));
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('Vault could not be reached (ECONNREFUSED)') });
  });
});
