import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type SecretRefreshFailedEvent } from '@keyward/core';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { appRoleAuth, createVaultConnection, kubernetesAuth, vaultKv, type VaultConnection, type VaultConnectionOptions } from '@keyward/vault';
import { canary, expectNoCanary } from '@keyward/test-support';
import { startRecordingProxy, vaultAdmin, type RecordingProxy, type VaultAdmin } from '@keyward/test-support/vault';

const LOGIN = '/v1/auth/approle/login';

describe('Vault auth methods against the Vault dev server', () => {
  let server: VaultDevServer;
  let admin: VaultAdmin;
  let proxy: RecordingProxy;
  let dir: string;
  let roleId: string;
  let secretId: string;
  const rootToken = canary('root-token');
  const values = { a: canary('value-a'), b: canary('value-b'), c: canary('value-c') };
  const open: { close(): Promise<void> }[] = [];

  const connect = (options: Partial<VaultConnectionOptions>): VaultConnection => {
    const connection = createVaultConnection({ endpoint: proxy.url, auth: appRoleAuth({ roleId, secretId }), ...options });
    open.push(connection);
    return connection;
  };
  const storeOn = async (vault: VaultConnection, options: { refresh?: { interval: number; jitter: number } | false; secrets?: string[] } = {}) => {
    const store = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: vault }) },
      secrets: Object.fromEntries((options.secrets ?? ['a', 'b', 'c']).map((name) => [name, { key: 'value' }])),
      refresh: options.refresh ?? false,
    }).start();
    open.push(store);
    return store;
  };

  beforeAll(async () => {
    server = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(server.url, server.rootToken);
    proxy = await startRecordingProxy(server.url);
    dir = mkdtempSync(join(tmpdir(), 'keyward-vault-auth-'));
    for (const [name, value] of Object.entries(values)) await admin.writeKv(`billing/production/${name}`, { value });
    await admin.writeKv('other-team/production/a', { value: canary() });
    await admin.putPolicy('billing-read', 'path "secret/data/billing/*" { capabilities = ["read"] }\npath "secret/metadata/billing/*" { capabilities = ["read"] }\n');
    await admin.call('POST', 'sys/auth/approle', { type: 'approle' });
    // Tokens that live 2 s and cannot be renewed past that: only a new login keeps reads going.
    await admin.call('POST', 'auth/approle/role/billing', { token_policies: ['billing-read'], token_ttl: '2s', token_max_ttl: '2s' });
    roleId = (await admin.call('GET', 'auth/approle/role/billing/role-id')).data.role_id;
    secretId = (await admin.call('POST', 'auth/approle/role/billing/secret-id', {})).data.secret_id;
  });
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
    proxy.calls.length = 0;
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('AppRole: replaces a 2-second token by logging in again, with no failed read across several refreshes', async () => {
    writeFileSync(join(dir, 'role-id'), `${roleId}\n`);
    writeFileSync(join(dir, 'secret-id'), `${secretId}\n`);
    const vault = connect({ auth: appRoleAuth({ roleIdFile: join(dir, 'role-id'), secretIdFile: join(dir, 'secret-id') }) });
    const logins: number[] = [];
    vault.on('login', (e) => logins.push(e.ttlMs));
    const store = await storeOn(vault, { refresh: { interval: 300, jitter: 0 } });
    const failures: SecretRefreshFailedEvent[] = [];
    store.on('refreshFailed', (e) => failures.push(e));
    const before = proxy.count('GET', /^\/v1\/secret\/metadata\//, 200);
    await new Promise((r) => setTimeout(r, 5000));
    expect(failures).toEqual([]);
    // About 15 refreshes of 3 secrets over 2.5 token lifetimes.
    expect(proxy.count('GET', /^\/v1\/secret\/metadata\//, 200) - before).toBeGreaterThanOrEqual(30);
    expect(logins.length).toBeGreaterThanOrEqual(3);
    expect(logins.every((ttl) => ttl === 2000)).toBe(true);
    expect(proxy.count('POST', LOGIN, 200)).toBe(logins.length);
    expect(store.get('a').reveal()).toBe(values.a);
    expect(store.health().status).toBe('ok');
  }, 15_000);

  it('AppRole: answers 403s on an expired token with ONE login and one retry per call', async () => {
    const vault = connect({ renewToken: false });
    let logins = 0;
    vault.on('login', () => logins++);
    const store = await storeOn(vault);
    expect(logins).toBe(1);
    await new Promise((r) => setTimeout(r, 2300)); // the token expires
    proxy.calls.length = 0;
    await store.refresh(); // three reads at once, all refused, one login
    expect(logins).toBe(2);
    expect(proxy.count('POST', LOGIN)).toBe(1);
    expect(proxy.count('GET', /^\/v1\/secret\/metadata\/billing\//, 403)).toBe(3);
    expect(proxy.count('GET', /^\/v1\/secret\/metadata\/billing\//, 200)).toBe(3);
    expect(store.health().status).toBe('ok');
  }, 10_000);

  it('AppRole: a policy denial is PERMISSION_DENIED after exactly one re-login and one retry', async () => {
    const vault = connect({});
    const provider = vaultKv({ connection: vault });
    const ref = { name: 'a', path: 'other-team/production/a', app: 'other-team', environment: 'production' };
    const err = await provider.read(ref, { signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('GET /v1/secret/data/other-team/production/a: Vault refused the request (403)') });
    expect(proxy.count('POST', LOGIN)).toBe(2);
    expect(proxy.count('GET', '/v1/secret/data/other-team/production/a', 403)).toBe(2);
    const tokens = proxy.calls.map((c) => c.headers['x-vault-token']).filter((t): t is string => typeof t === 'string');
    expect(new Set(tokens).size).toBe(2);
    expectNoCanary({ error: inspect(err, { depth: 10, showHidden: true }), json: JSON.stringify(err) }, ...tokens, secretId, roleId);
  });

  it('AppRole: a wrong secret_id fails start-up with CONFIG_INVALID, naming no credential', async () => {
    const vault = connect({ auth: appRoleAuth({ roleId, secretId: 'not-the-secret-id-4f1c' }) });
    const err = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultKv({ connection: vault }) },
      secrets: { a: {} },
    })
      .start()
      .catch((e: unknown) => e);
    // Vault answers a bad role_id or secret_id with 400: the configured credentials are wrong.
    expect(err).toMatchObject({
      code: 'SECRETS_UNAVAILABLE',
      problems: [
        {
          secret: 'a',
          code: 'CONFIG_INVALID',
          message: 'AppRole login: POST /v1/auth/approle/login: Vault refused the request as invalid (400): invalid role or secret ID',
        },
      ],
    });
    expectNoCanary({ error: inspect(err, { depth: 10, showHidden: true }) }, 'not-the-secret-id-4f1c', roleId);
  });

  describe('Kubernetes', () => {
    /** An unsigned service-account JWT, as the dev server accepts: its claims name the service account. */
    const serviceAccountJwt = (namespace: string, name: string): string => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${part({ alg: 'RS256', kid: 'dev' })}.${part({
        iss: 'kubernetes/serviceaccount',
        sub: `system:serviceaccount:${namespace}:${name}`,
        'kubernetes.io/serviceaccount/namespace': namespace,
        'kubernetes.io/serviceaccount/service-account.name': name,
        kubernetes: { io: {} },
        'kubernetes.io': { namespace, serviceaccount: { name, uid: '5f1c6a0e-0000-4000-8000-000000000001' } },
      })}.`;
    };

    beforeAll(async () => {
      await admin.call('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
      await admin.call('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc' });
      await admin.call('POST', 'auth/kubernetes/role/billing', {
        bound_service_account_names: ['billing'],
        bound_service_account_namespaces: ['apps'],
        token_policies: ['billing-read'],
        token_ttl: '1h',
      });
    });

    it('logs in with the service-account JWT read from its file, and reads secrets', async () => {
      const jwtFile = join(dir, 'sa-token');
      writeFileSync(jwtFile, serviceAccountJwt('apps', 'billing'));
      const vault = connect({ auth: kubernetesAuth({ role: 'billing', jwtFile }) });
      const store = await storeOn(vault);
      expect(store.get('b').reveal()).toBe(values.b);
      expect(proxy.count('POST', '/v1/auth/kubernetes/login', 200)).toBe(1);
    });

    it('fails with PERMISSION_DENIED for a service account the role does not bind, and CONFIG_INVALID for a missing file', async () => {
      const jwtFile = join(dir, 'other-sa-token');
      writeFileSync(jwtFile, serviceAccountJwt('apps', 'reporting'));
      const denied = await storeOn(connect({ auth: kubernetesAuth({ role: 'billing', jwtFile }) }), { secrets: ['a'] }).catch((e: unknown) => e);
      expect(denied).toMatchObject({ problems: [{ code: 'PERMISSION_DENIED', message: expect.stringMatching(/^Kubernetes login: POST \/v1\/auth\/kubernetes\/login: Vault refused/) }] });
      const missing = await storeOn(connect({ auth: kubernetesAuth({ role: 'billing', jwtFile: join(dir, 'nope') }) }), { secrets: ['a'] }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ problems: [{ code: 'CONFIG_INVALID', message: `Kubernetes service-account token file ${join(dir, 'nope')} cannot be read (ENOENT)` }] });
    });
  });
});
