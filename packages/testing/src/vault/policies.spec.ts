import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PolicyStore } from './policies.js';
import { callVault } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('ACL policies', () => {
  it('picks the most specific pattern, lets deny win, and reads + as one segment', () => {
    const store = new PolicyStore();
    store.set(
      'app',
      `# comment
      path "secret/data/app/*" { capabilities = ["read", "list"] }
      path "secret/data/app/admin" { capabilities = ["deny"] }
      path "secret/data/+/shared" { capabilities = ["update"] }
      path "secret/data/app/writable*" { capabilities = ["create", "update"] }`,
    );
    const can = (path: string, cap: string) => store.allows(['app'], path, cap, false);
    expect(can('secret/data/app/db', 'read')).toBe(true);
    expect(can('secret/data/app/db', 'update')).toBe(false);
    expect(can('secret/data/app/admin', 'read')).toBe(false);
    expect(can('secret/data/team/shared', 'update')).toBe(true);
    expect(can('secret/data/team/x/shared', 'update')).toBe(false);
    expect(can('secret/data/app/writable-1', 'update')).toBe(true);
    expect(can('secret/data/app/writable-1', 'read')).toBe(false); // the longer glob wins over app/*
    expect(store.allows(['root'], 'anything', 'sudo', true)).toBe(true);
    expect(store.allows(['default'], 'auth/token/lookup-self', 'read', false)).toBe(true);
    expect(store.allows(['default'], 'sys/leases/renew', 'update', false)).toBe(true);
  });

  it('accepts the JSON form and base64, and rejects bad policies with Vault\'s prefix', () => {
    const store = new PolicyStore();
    store.set('json', JSON.stringify({ path: { 'kv/*': { capabilities: ['read'] } } }));
    expect(store.allows(['json'], 'kv/x', 'read', false)).toBe(true);
    store.set('b64', Buffer.from('path "b/*" { capabilities = ["list"] }').toString('base64'));
    expect(store.allows(['b64'], 'b/', 'list', false)).toBe(true);
    expect(() => store.set('bad', 'path "x" { capabilities = ["fly"] }')).toThrow(/^failed to parse policy: /);
  });

  describe('over HTTP', () => {
    let server: VaultDevServer;
    let token: string;
    beforeAll(async () => {
      server = await startVaultDevServer();
      await callVault(server, 'PUT', '/v1/sys/policies/acl/app', {
        body: {
          policy: `path "secret/data/app/*" { capabilities = ["read", "create"] }
                   path "secret/metadata/app/*" { capabilities = ["list"] }
                   path "secret/metadata/app" { capabilities = ["list"] }`,
        },
      });
      await callVault(server, 'POST', '/v1/secret/data/app/existing', { body: { data: { a: 1 } } });
      token = (await callVault(server, 'POST', '/v1/auth/token/create', { body: { policies: ['app'] } })).body.auth.client_token;
    });
    afterAll(async () => {
      await server?.close();
    });

    it('checks every request of a non-root token against its policies', async () => {
      expect((await callVault(server, 'GET', '/v1/secret/data/app/existing', { token })).status).toBe(200);
      expect(await callVault(server, 'GET', '/v1/secret/data/other', { token })).toMatchObject({
        status: 403,
        body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] },
      });
      // LIST checks the path with a trailing slash.
      expect((await callVault(server, 'LIST', '/v1/secret/metadata/app', { token })).status).toBe(200);
      // create on a new key is allowed; update of an existing one is not.
      expect((await callVault(server, 'POST', '/v1/secret/data/app/new', { token, body: { data: { b: 1 } } })).status).toBe(200);
      expect((await callVault(server, 'POST', '/v1/secret/data/app/existing', { token, body: { data: { b: 1 } } })).status).toBe(403);
      // the default policy lets a token look itself up, but not seal the server.
      expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token })).status).toBe(200);
      expect((await callVault(server, 'PUT', '/v1/sys/seal', { token })).status).toBe(403);
    });

    it('tells a token about a mount it can use (sys/internal/ui/mounts), and no other', async () => {
      const mount = await callVault(server, 'GET', '/v1/sys/internal/ui/mounts/secret/app/existing', { token });
      expect(mount.body.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
      const plain = (await callVault(server, 'POST', '/v1/auth/token/create', { body: { policies: ['default'] } })).body.auth.client_token;
      expect((await callVault(server, 'GET', '/v1/sys/internal/ui/mounts/secret/app', { token: plain })).status).toBe(403);
    });

    it('reads policies back through both APIs and protects root and default', async () => {
      expect((await callVault(server, 'GET', '/v1/sys/policy/app')).body.data.rules).toContain('secret/data/app/*');
      expect((await callVault(server, 'GET', '/v1/sys/policies/acl/app')).body).toMatchObject({ name: 'app', data: { name: 'app' } });
      expect((await callVault(server, 'LIST', '/v1/sys/policies/acl')).body.data.keys).toEqual(['app', 'default', 'root']);
      expect(await callVault(server, 'PUT', '/v1/sys/policy/root', { body: { policy: 'path "x" {}' } })).toMatchObject({ status: 400, body: { errors: ['cannot update "root" policy'] } });
      expect((await callVault(server, 'DELETE', '/v1/sys/policies/acl/default')).status).toBe(400);
      expect((await callVault(server, 'PUT', '/v1/sys/policies/acl/broken', { body: { policy: 'path "x" { capabilities = ["fly"] }' } })).status).toBe(400);
    });
  });
});
