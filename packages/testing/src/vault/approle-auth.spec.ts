import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import vault from 'node-vault';
import { callVault, eventually } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('AppRole auth method', () => {
  let server: VaultDevServer;
  let admin: vault.client;
  const credentials = async (role: string, body: Record<string, unknown> = {}) => {
    const roleId = (await admin.getApproleRoleId({ role_name: role })).data.role_id as string;
    const secret = await callVault(server, 'POST', `/v1/auth/approle/role/${role}/secret-id`, { body });
    return { roleId, secretId: secret.body.data.secret_id as string };
  };

  beforeAll(async () => {
    server = await startVaultDevServer();
    admin = vault({ endpoint: server.url, token: server.rootToken });
    await admin.enableAuth({ mount_point: 'approle', type: 'approle' });
    await admin.write('sys/policies/acl/billing', { policy: 'path "secret/data/billing/*" { capabilities = ["read"] }' });
    await admin.write('secret/data/billing/db', { data: { password: 'p' } });
    // node-vault sends only the fields of its schema (policies, integer TTLs).
    await admin.addApproleRole({ role_name: 'billing', policies: 'billing', token_ttl: 3600, token_max_ttl: 7200 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs in with role_id and secret_id and gets a token of the role\'s policies', async () => {
    const { roleId, secretId } = await credentials('billing');
    const app = vault({ endpoint: server.url });
    const login = await app.approleLogin({ role_id: roleId, secret_id: secretId });
    expect(login.auth).toMatchObject({
      policies: ['billing', 'default'],
      token_policies: ['billing', 'default'],
      metadata: { role_name: 'billing' },
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    });
    expect(login.auth.entity_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(login.mount_type).toBe('approle');
    // node-vault keeps the token it logged in with.
    expect((await app.read('secret/data/billing/db')).data.data).toEqual({ password: 'p' });
    await expect(app.read('secret/data/other')).rejects.toMatchObject({ response: { statusCode: 403 } });
    expect((await app.tokenLookupSelf()).data).toMatchObject({ path: 'auth/approle/login', display_name: 'approle', meta: { role_name: 'billing' } });
  });

  it('answers wrong credentials as Vault does', async () => {
    const { roleId } = await credentials('billing');
    const app = vault({ endpoint: server.url });
    await expect(app.approleLogin({ role_id: roleId, secret_id: 'wrong' })).rejects.toMatchObject({ message: 'invalid role or secret ID', response: { statusCode: 400 } });
    await expect(app.approleLogin({ role_id: 'nope', secret_id: 'wrong' })).rejects.toMatchObject({ message: 'invalid role or secret ID' });
    expect(await callVault(server, 'POST', '/v1/auth/approle/login', { token: null, body: { secret_id: 'x' } })).toMatchObject({ status: 500, body: { errors: ['missing role_id'] } });
    expect(await callVault(server, 'POST', '/v1/auth/approle/login', { token: null, body: { role_id: roleId } })).toMatchObject({ status: 400, body: { errors: ['missing secret_id'] } });
  });

  it('spends secret IDs with num_uses and lets them expire with their ttl', async () => {
    await admin.addApproleRole({ role_name: 'once', policies: 'default', secret_id_num_uses: 1, secret_id_ttl: 1 });
    const { roleId, secretId } = await credentials('once');
    const login = () => callVault(server, 'POST', '/v1/auth/approle/login', { token: null, body: { role_id: roleId, secret_id: secretId } });
    expect((await login()).status).toBe(200);
    expect(await login()).toMatchObject({ status: 400, body: { errors: ['invalid role or secret ID'] } });
    await admin.addApproleRole({ role_name: 'expiring', policies: 'default', secret_id_ttl: 2 });
    const short = await credentials('expiring');
    const loginShort = () => callVault(server, 'POST', '/v1/auth/approle/login', { token: null, body: { role_id: short.roleId, secret_id: short.secretId } });
    expect((await loginShort()).status).toBe(200);
    await eventually(async () => (await loginShort()).status === 400, 5_000, 'the secret ID to expire');
  });

  it('issues tokens that expire with token_ttl and renew up to token_max_ttl', async () => {
    await admin.addApproleRole({ role_name: 'brief', policies: 'default', token_ttl: 2, token_max_ttl: 3 });
    const { roleId, secretId } = await credentials('brief');
    const token = (await callVault(server, 'POST', '/v1/auth/approle/login', { token: null, body: { role_id: roleId, secret_id: secretId } })).body.auth.client_token;
    const renewed = await callVault(server, 'POST', '/v1/auth/token/renew-self', { token, body: { increment: 60 } });
    expect(renewed.body.auth.lease_duration).toBeLessThanOrEqual(3);
    expect(renewed.body.warnings[0]).toMatch(/^TTL of "1m0s" exceeded the effective max_ttl of "[1-3]s"; TTL value is capped accordingly$/);
    await eventually(async () => (await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token })).status === 403, 5_000, 'the AppRole token to expire');
  });

  it('reads roles and manages secret IDs by accessor', async () => {
    const role = await admin.getApproleRole({ role_name: 'billing' });
    expect(role.data).toMatchObject({ token_ttl: 3600, token_max_ttl: 7200, token_policies: ['billing'], bind_secret_id: true, secret_id_num_uses: 0 });
    const created = await callVault(server, 'POST', '/v1/auth/approle/role/billing/secret-id', { body: { metadata: '{"tag":"ci"}' } });
    const { secret_id_accessor: accessor } = created.body.data;
    const lookup = await callVault(server, 'POST', '/v1/auth/approle/role/billing/secret-id-accessor/lookup', { body: { secret_id_accessor: accessor } });
    expect(lookup.body.data).toMatchObject({ metadata: { tag: 'ci' }, secret_id_accessor: accessor, expiration_time: '0001-01-01T00:00:00Z' });
    await callVault(server, 'POST', '/v1/auth/approle/role/billing/secret-id-accessor/destroy', { body: { secret_id_accessor: accessor } });
    const login = await callVault(server, 'POST', '/v1/auth/approle/login', {
      token: null,
      body: { role_id: (await admin.getApproleRoleId({ role_name: 'billing' })).data.role_id, secret_id: created.body.data.secret_id },
    });
    expect(login.status).toBe(400);
  });
});
