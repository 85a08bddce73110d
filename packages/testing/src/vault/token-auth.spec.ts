import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import vault from 'node-vault';
import { callVault, eventually } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('token auth method', () => {
  let server: VaultDevServer;
  const create = async (body: Record<string, unknown>, token?: string) => {
    const res = await callVault(server, 'POST', '/v1/auth/token/create', { body, token });
    expect(res.status).toBe(200);
    return res.body.auth.client_token as string;
  };

  beforeAll(async () => {
    server = await startVaultDevServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('has a root token that never expires and holds the root policy', async () => {
    const self = await vault({ endpoint: server.url, token: server.rootToken }).tokenLookupSelf();
    expect(self.data).toMatchObject({ policies: ['root'], path: 'auth/token/root', ttl: 0, expire_time: null, orphan: true, display_name: 'root', type: 'service' });
    expect(server.rootToken).toMatch(/^hvs\.[0-9A-Za-z]{24}$/);
  });

  it('creates tokens with TTLs that expire: then every call is 403 permission denied', async () => {
    const token = await create({ policies: ['default'], ttl: '2s' });
    const client = vault({ endpoint: server.url, token });
    const self = await client.tokenLookupSelf();
    expect(self.data).toMatchObject({ creation_ttl: 2, renewable: true, path: 'auth/token/create', display_name: 'token', policies: ['default'] });
    await eventually(async () => (await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token })).status === 403, 6_000, 'the token to expire');
    expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token })).body).toEqual({ errors: ['permission denied'] });
  });

  it('renews within explicit_max_ttl, with Vault\'s warning when capped', async () => {
    const token = await create({ policies: ['default'], ttl: '2s', explicit_max_ttl: '4s' });
    const client = vault({ endpoint: server.url, token });
    const renewed = await client.tokenRenewSelf({ increment: '2s' });
    expect(renewed.auth).toMatchObject({ client_token: token, lease_duration: 2, renewable: true, token_type: 'service' });
    expect(renewed.warnings).toBeNull();
    const capped = await client.tokenRenewSelf({ increment: '1h' });
    expect(capped.auth.lease_duration).toBeLessThanOrEqual(4);
    expect(capped.warnings).toEqual([expect.stringMatching(/^TTL of "1h0m0s" exceeded the effective max_ttl of "[1-4]s"; TTL value is capped accordingly$/)]);
    await eventually(async () => (await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token })).status === 403, 8_000, 'the explicit max TTL');
  });

  it('refuses to renew a non-renewable token or the root token', async () => {
    const token = await create({ policies: ['default'], ttl: '1h', renewable: false });
    expect(await callVault(server, 'POST', '/v1/auth/token/renew-self', { token, body: {} })).toMatchObject({ status: 400, body: { errors: ['lease is not renewable'] } });
    expect(await callVault(server, 'POST', '/v1/auth/token/renew-self', { body: {} })).toMatchObject({ status: 400, body: { errors: ['lease not found'] } });
  });

  it('limits uses (num_uses) and revokes children with their parent', async () => {
    const once = await create({ policies: ['default'], num_uses: 2 });
    expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: once })).body.data.num_uses).toBe(1);
    expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: once })).status).toBe(200);
    await eventually(async () => (await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: once })).status === 403, 2_000, 'the used-up token');

    await callVault(server, 'PUT', '/v1/sys/policies/acl/creator', { body: { policy: 'path "auth/token/create" { capabilities = ["update"] }' } });
    const parent = await create({ policies: ['creator'] });
    const child = await create({ policies: ['default'] }, parent);
    expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: child })).body.data.orphan).toBe(false);
    expect(await callVault(server, 'POST', '/v1/auth/token/revoke-self', { token: parent })).toMatchObject({ status: 204 });
    expect((await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: child })).status).toBe(403);
  });

  it('keeps a child\'s policies within its parent\'s and warns about unknown ones', async () => {
    const parent = await create({ policies: ['default'] });
    const refused = await callVault(server, 'POST', '/v1/auth/token/create', { token: parent, body: { policies: ['admin'] } });
    expect(refused).toMatchObject({ status: 403 });
    await callVault(server, 'PUT', '/v1/sys/policies/acl/maker', { body: { policy: 'path "auth/token/create" { capabilities = ["update"] }' } });
    const maker = await create({ policies: ['maker'] });
    expect(await callVault(server, 'POST', '/v1/auth/token/create', { token: maker, body: { policies: ['admin'] } })).toMatchObject({
      status: 400,
      body: { errors: ['child policies must be subset of parent'] },
    });
    const res = await callVault(server, 'POST', '/v1/auth/token/create', { body: { policies: ['web'] } });
    expect(res.body.warnings).toEqual(['Policy "web" does not exist']);
  });

  it('looks tokens up by value and accessor, and revokes by accessor', async () => {
    const created = await callVault(server, 'POST', '/v1/auth/token/create', { body: { policies: ['default'], meta: { app: 'billing' }, display_name: 'ci job' } });
    const { client_token: token, accessor } = created.body.auth;
    expect((await callVault(server, 'POST', '/v1/auth/token/lookup', { body: { token } })).body.data).toMatchObject({ meta: { app: 'billing' }, display_name: 'token-ci-job' });
    expect((await callVault(server, 'POST', '/v1/auth/token/lookup-accessor', { body: { accessor } })).body.data.id).toBe('');
    expect((await callVault(server, 'POST', '/v1/auth/token/revoke-accessor', { body: { accessor } })).status).toBe(204);
    expect(await callVault(server, 'POST', '/v1/auth/token/lookup', { body: { token } })).toMatchObject({ status: 403, body: { errors: ['bad token'] } });
  });
});
