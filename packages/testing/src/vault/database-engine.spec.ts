import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import vault from 'node-vault';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../embedded-postgres.js';
import { callVault, eventually } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

const CREATE = [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";'];

describe('database secrets engine against a real PostgreSQL', () => {
  let postgres: RunningPostgres;
  let admin: pg.Client;
  let server: VaultDevServer;
  let client: vault.client;

  const login = async (username: string, password: string) => {
    const c = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: username, password, database: postgres.database });
    await c.connect();
    return c;
  };
  const validUntil = async (role: string): Promise<number | undefined> => {
    const { rows } = await admin.query<{ rolvaliduntil: Date | null }>('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [role]);
    return rows[0]?.rolvaliduntil?.getTime();
  };
  const roleExists = async (role: string) => (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
  const writeRole = (name: string, extra: Record<string, unknown>) =>
    client.write(`database/roles/${name}`, { db_name: 'pg', creation_statements: CREATE, ...extra });

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    admin = await postgres.connect();
    await admin.query('CREATE TABLE orders (id int)');
    server = await startVaultDevServer();
    client = vault({ endpoint: server.url, token: server.rootToken });
    await client.mount({ mount_point: 'database', type: 'database' });
    await client.write('database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${postgres.port}/${postgres.database}`,
      username: postgres.user,
      password: postgres.password,
      allowed_roles: 'app-*,short,capped,nologin',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await admin?.end();
    await postgres?.stop();
  });

  it('refuses a connection it cannot verify, and roles the connection does not allow', async () => {
    const bad = await callVault(server, 'POST', '/v1/database/config/broken', {
      body: { plugin_name: 'postgresql-database-plugin', connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${postgres.port}/${postgres.database}`, username: postgres.user, password: 'wrong' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/^error creating database object: error verifying connection: /);
    expect(bad.text).not.toContain(postgres.password);
    await writeRole('other', {});
    await expect(client.read('database/creds/other')).rejects.toMatchObject({ response: { statusCode: 500 } });
    await expect(client.read('database/creds/missing')).rejects.toMatchObject({ message: 'unknown role: missing', response: { statusCode: 400 } });
  });

  it('issues credentials that log in, with Vault\'s name, password and lease formats', async () => {
    await writeRole('app-ro', { default_ttl: '1h', max_ttl: '24h' });
    const before = Date.now();
    const creds = await client.read('database/creds/app-ro');
    expect(creds).toMatchObject({ renewable: true, lease_duration: 3600, mount_type: 'database' });
    expect(creds.lease_id).toMatch(/^database\/creds\/app-ro\/[0-9A-Za-z]{24}$/);
    expect(creds.data.username).toMatch(/^v-root-app-ro-[0-9A-Za-z]{20}-\d{10}$/);
    expect(creds.data.password).toMatch(/^[0-9A-Za-z-]{20}$/);
    const session = await login(creds.data.username, creds.data.password);
    await session.query('SELECT * FROM orders');
    await session.end();
    // VALID UNTIL is the lease end plus Vault's 5 s buffer.
    expect(await validUntil(creds.data.username)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    const role = await client.read('database/roles/app-ro');
    expect(role.data).toMatchObject({ db_name: 'pg', default_ttl: 3600, max_ttl: 86400, credential_type: 'password' });
    expect((await client.list('database/roles')).data.keys).toContain('app-ro');
  });

  it('renews with ALTER ROLE ... VALID UNTIL and caps at max_ttl with Vault\'s warning', async () => {
    await writeRole('capped', { default_ttl: 3, max_ttl: 8 });
    const creds = await client.read('database/creds/capped');
    const initial = (await validUntil(creds.data.username))!;
    const renewed = await client.write('sys/leases/renew', { lease_id: creds.lease_id, increment: 4 });
    expect(renewed).toMatchObject({ lease_id: creds.lease_id, renewable: true, lease_duration: 4, warnings: null });
    expect((await validUntil(creds.data.username))!).toBeGreaterThan(initial);
    const capped = await client.write('sys/leases/renew', { lease_id: creds.lease_id, increment: 100 });
    expect(capped.lease_duration).toBeLessThanOrEqual(8);
    expect(capped.warnings).toEqual([expect.stringMatching(/^TTL of "1m40s" exceeded the effective max_ttl of "\d+s"; TTL value is capped accordingly$/)]);
    const lookup = await client.write('sys/leases/lookup', { lease_id: creds.lease_id });
    expect(lookup.data).toMatchObject({ id: creds.lease_id, renewable: true });
    expect(lookup.data.last_renewal).toEqual(expect.any(String));
  });

  it('revoke drops the role and ends its sessions; the credentials stop working', async () => {
    await writeRole('app-rw', { default_ttl: '1h' });
    const creds = await client.read('database/creds/app-rw');
    const session = await login(creds.data.username, creds.data.password);
    const ended = new Promise<Error>((resolve) => session.on('error', resolve));
    await client.revoke({ lease_id: creds.lease_id });
    expect(await roleExists(creds.data.username)).toBe(false);
    await expect(session.query('SELECT 1').catch((e: Error) => Promise.reject(e))).rejects.toBeDefined();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
    await expect(login(creds.data.username, creds.data.password)).rejects.toMatchObject({ code: expect.stringMatching(/^(28P01|28000)$/) });
    await expect(client.write('sys/leases/renew', { lease_id: creds.lease_id })).rejects.toMatchObject({ message: 'lease not found', response: { statusCode: 400 } });
    await expect(client.write('sys/leases/lookup', { lease_id: creds.lease_id })).rejects.toMatchObject({ message: 'invalid lease' });
  });

  it('expiry revokes the lease by itself: the role is dropped', async () => {
    await writeRole('short', { default_ttl: 1, max_ttl: 1 });
    const creds = await client.read('database/creds/short');
    expect(creds.lease_duration).toBe(1);
    await eventually(async () => !(await roleExists(creds.data.username)), 8_000, 'the expired role to be dropped');
    await expect(login(creds.data.username, creds.data.password)).rejects.toMatchObject({ code: expect.stringMatching(/^(28P01|28000)$/) });
  });

  it('revoking the token that read the credentials revokes them', async () => {
    await client.write('sys/policies/acl/creds', { policy: 'path "database/creds/*" { capabilities = ["read"] }' });
    // node-vault's tokenCreate switches the calling client to the new token: create it with a raw call.
    const token = (await callVault(server, 'POST', '/v1/auth/token/create', { body: { policies: ['creds'] } })).body.auth.client_token as string;
    const user = vault({ endpoint: server.url, token });
    const creds = await user.read('database/creds/app-ro');
    expect(creds.data.username).toMatch(/^v-token-app-ro-/);
    await user.tokenRevokeSelf();
    await eventually(async () => !(await roleExists(creds.data.username)), 5_000, 'the lease of the revoked token to be revoked');
  });

  it('runs the role\'s own revocation statements when it has them', async () => {
    await writeRole('nologin', { revocation_statements: 'ALTER ROLE "{{name}}" NOLOGIN;' });
    const creds = await client.read('database/creds/nologin');
    await client.write('sys/leases/revoke-prefix/database/creds/nologin', {});
    expect(await roleExists(creds.data.username)).toBe(true);
    await expect(login(creds.data.username, creds.data.password)).rejects.toMatchObject({ code: '28000' });
  });
});
