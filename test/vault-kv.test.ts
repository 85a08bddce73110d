import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, SecretsUnavailableError, type SecretRotatedEvent } from '@keyward/core';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultKeyRing, vaultKv, type VaultConnection } from '@keyward/vault';
import { canary, expectNoCanary, nextEvent } from '@keyward/test-support';
import { startRecordingProxy, vaultAdmin, type RecordingProxy, type VaultAdmin } from '@keyward/test-support/vault';

describe('vaultKv against the Vault dev server', () => {
  let server: VaultDevServer;
  let admin: VaultAdmin;
  let proxy: RecordingProxy;
  const rootToken = canary('root-token');
  const open: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  const connect = (options: { namespace?: string } = {}): VaultConnection =>
    track(createVaultConnection({ endpoint: proxy.url, auth: tokenAuth({ token: rootToken }), ...options }));

  beforeAll(async () => {
    server = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(server.url, server.rootToken);
    proxy = await startRecordingProxy(server.url);
  });
  afterEach(async () => {
    // Stores first: they may still use a connection.
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  it('loads {app}/{env}/{name} at v1, refreshes through metadata only, and rotates to v2 when a new version is written', async () => {
    const password = canary('db-password');
    const apiKey = canary('stripe-key');
    await admin.writeKv('billing/production/database', { username: 'billing', password });
    await admin.writeKv('billing/production/stripe', { apiKey });
    const vault = connect();
    const store = track(
      await new SecretStore({
        app: 'billing',
        environment: 'production',
        providers: { production: vaultKv({ connection: vault }) },
        secrets: { database: {}, stripe: { key: 'apiKey' } },
        refresh: false,
      }).start(),
    );
    expect(store.get('database').version).toBe('v1');
    expect(store.get('database').reveal()).toEqual({ username: 'billing', password });
    expect(store.get('stripe').reveal()).toBe(apiKey);
    expect(proxy.count('GET', '/v1/secret/data/billing/production/database', 200)).toBe(1);

    // Nothing changed: one metadata read per secret, no data read.
    proxy.calls.length = 0;
    await store.refresh();
    expect(proxy.count('GET', /^\/v1\/secret\/metadata\/billing\/production\/(database|stripe)$/, 200)).toBe(2);
    expect(proxy.count('GET', /^\/v1\/secret\/data\//)).toBe(0);
    expect(store.get('database').version).toBe('v1');

    // A new version: metadata says so, then the data is read.
    const newPassword = canary('db-password-2');
    await admin.writeKv('billing/production/database', { username: 'billing', password: newPassword });
    const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated');
    proxy.calls.length = 0;
    await store.refresh('database');
    const event = await rotated;
    expect([event.previous.version, event.current.version]).toEqual(['v1', 'v2']);
    expect(store.get('database').reveal()).toEqual({ username: 'billing', password: newPassword });
    expect(proxy.count('GET', '/v1/secret/metadata/billing/production/database')).toBe(1);
    expect(proxy.count('GET', '/v1/secret/data/billing/production/database')).toBe(1);
    expectNoCanary({ event: inspect(event, { depth: 5 }), json: JSON.stringify(event), health: JSON.stringify(store.health()) }, password, newPassword, rootToken);
  });

  it('fails start-up with SECRET_NOT_FOUND for a soft-deleted or destroyed latest version, listing every problem', async () => {
    await admin.writeKv('shop/production/database', { password: canary() });
    await admin.writeKv('shop/production/database', { password: canary() });
    await admin.call('DELETE', 'secret/data/shop/production/database');
    await admin.writeKv('shop/production/legacy', { token: canary() });
    await admin.call('POST', 'secret/destroy/shop/production/legacy', { versions: [1] });
    await admin.writeKv('shop/production/present', { value: 'ok' });
    const store = new SecretStore({
      app: 'shop',
      environment: 'production',
      providers: { production: vaultKv({ connection: connect() }) },
      secrets: { database: {}, legacy: {}, missing: {}, present: {} },
    });
    const err = await store.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsUnavailableError);
    const { problems } = err as SecretsUnavailableError;
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          secret: 'database',
          location: 'vault kv secret/data/shop/production/database',
          code: 'SECRET_NOT_FOUND',
          message: expect.stringMatching(/^its latest version \(2\) was deleted in Vault at \d{4}-\d\d-\d\dT.*; `vault kv undelete -versions=2` restores it$/),
        },
        {
          secret: 'legacy',
          location: 'vault kv secret/data/shop/production/legacy',
          code: 'SECRET_NOT_FOUND',
          message: 'its latest version (1) was destroyed in Vault; write a new version',
        },
        { secret: 'missing', location: 'vault kv secret/data/shop/production/missing', code: 'SECRET_NOT_FOUND', message: 'Vault has no secret there (404)' },
      ]),
    );
  });

  it('notices a soft delete on refresh (metadata), keeps serving the last value, and reports SECRET_NOT_FOUND', async () => {
    const password = canary('kept');
    await admin.writeKv('ops/production/database', { password });
    const store = track(
      await new SecretStore({
        app: 'ops',
        environment: 'production',
        providers: { production: vaultKv({ connection: connect() }) },
        secrets: { database: { key: 'password' } },
        refresh: false,
      }).start(),
    );
    await admin.call('DELETE', 'secret/data/ops/production/database');
    await expect(store.refresh('database')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', message: expect.stringContaining('its latest version (1) was deleted') });
    expect(store.get('database').reveal()).toBe(password);
    expect(store.health().status).toBe('degraded');
  });

  it('sends the namespace header on every call', async () => {
    await admin.writeKv('team/production/config', { mode: 'on' });
    proxy.calls.length = 0;
    const store = track(
      await new SecretStore({
        app: 'team',
        environment: 'production',
        providers: { production: vaultKv({ connection: connect({ namespace: 'billing-team' }) }) },
        secrets: { config: {} },
        refresh: false,
      }).start(),
    );
    await store.refresh();
    expect(proxy.calls.length).toBeGreaterThanOrEqual(3); // lookup-self, data, metadata
    expect(proxy.calls.map((c) => c.headers['x-vault-namespace'])).toEqual(proxy.calls.map(() => 'billing-team'));
  });

  it('refuses a path with ".." segments before any call, so nothing outside the mount is reached', async () => {
    const escape = 'billing/../../../sys/policies/acl/root';
    proxy.calls.length = 0;
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: connect() }) },
      secrets: { policy: { path: escape } },
    });
    const err = await store.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsUnavailableError);
    expect((err as SecretsUnavailableError).problems).toEqual([
      { secret: 'policy', location: `vault kv secret/data/${escape}`, code: 'CONFIG_INVALID', message: expect.stringContaining(`path "${escape}" has a ".." segment`) },
    ]);
    expect(proxy.calls.map((c) => `${c.method} ${c.path}`)).toEqual([]);
    // The same for the mount and a key ring, at configuration.
    expect(() => vaultKv({ connection: connect(), mount: 'secret/../sys' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => vaultKeyRing({ connection: connect(), path: 'billing/./live//keys' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('reads from another KV mount, and closes a connection it opened itself', async () => {
    await admin.call('POST', 'sys/mounts/apps', { type: 'kv', options: { version: '2' } });
    await admin.writeKv('web/staging/session', { key: 'abc' }, 'apps');
    const provider = vaultKv({ endpoint: server.url, auth: tokenAuth({ token: rootToken }), mount: '/apps/' });
    const store = await new SecretStore({ app: 'web', environment: 'staging', providers: { '*': provider }, secrets: { session: { key: 'key' } } }).start();
    expect(store.get('session').reveal()).toBe('abc');
    expect(provider.locate({ name: 'session', path: 'web/staging/session', app: 'web', environment: 'staging' })).toBe('vault kv apps/data/web/staging/session');
    await store.close();
    // The provider closed its own connection with the store.
    await expect(provider.read({ name: 'session', path: 'web/staging/session', app: 'web', environment: 'staging' }, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'the Vault connection is closed',
    });
  });
});
