import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type LeaseEvent, type SecretLease, type SecretRotatedEvent } from '@keyward/core';
import { mountPostgresEngine, startEmbeddedPostgres, startVaultDevServer, type RunningPostgres, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultDatabaseCredentials, type VaultConnection } from '@keyward/vault';
import pg from 'pg';
import { canary, nextEvent } from '@keyward/test-support';
import { vaultAdmin, type VaultAdmin } from '@keyward/test-support/vault';

type Credentials = { username: string; password: string };

describe('vaultDatabaseCredentials against the Vault dev server and a real PostgreSQL', () => {
  let postgres: RunningPostgres;
  let server: VaultDevServer;
  let admin: VaultAdmin;
  let vault: VaultConnection;
  const rootToken = canary('root-token');
  const stores: SecretStore[] = [];

  /** Logs in as `credentials` and says who PostgreSQL thinks we are. */
  async function whoAmI({ username, password }: Credentials): Promise<string> {
    const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: username, password, database: postgres.database });
    await client.connect();
    try {
      return (await client.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user;
    } finally {
      await client.end();
    }
  }

  async function roleExists(name: string): Promise<boolean> {
    const client = await postgres.connect();
    try {
      return (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
    } finally {
      await client.end();
    }
  }

  async function storeFor(role: string): Promise<SecretStore> {
    const store = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultDatabaseCredentials({ connection: vault, role }) },
      secrets: { database: {} },
      refresh: false,
    }).start();
    stores.push(store as unknown as SecretStore);
    return store as unknown as SecretStore;
  }

  beforeAll(async () => {
    [postgres, server] = await Promise.all([startEmbeddedPostgres(), startVaultDevServer({ rootToken })]);
    admin = vaultAdmin(server.url, server.rootToken);
    await mountPostgresEngine(server, postgres, {
      connection: 'billing-db',
      roles: {
        app: { defaultTtl: '2s', maxTtl: '6s' },
        // Renewals soon come back short of max_ttl: new credentials while the old lease has time left for a hold.
        held: { defaultTtl: '4s', maxTtl: '4s' },
      },
    });
    vault = createVaultConnection({ endpoint: server.url, auth: tokenAuth({ token: rootToken }) });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await vault?.close();
    await server?.close();
    await postgres?.stop();
  });

  it('issues credentials that log in, renews their lease, and issues new ones before max_ttl, revoking and dropping the old', async () => {
    const store = await storeFor('app');
    const first = store.get('database');
    const old = first.reveal() as Credentials;
    const lease = first.lease as SecretLease;
    expect(await whoAmI(old)).toBe(old.username);
    expect(lease).toMatchObject({ id: expect.stringMatching(/^database\/creds\/app\//), ttlMs: 2000, renewable: true });
    expect(first.version).toBe(lease.id.split('/').pop());

    // A refresh while the lease lives keeps the credentials (the lease is looked up, not re-issued).
    await store.refresh('database');
    expect(store.get('database').version).toBe(first.version);

    const before = await admin.lookupLease(lease.id);
    const renewed = await nextEvent<LeaseEvent>(store, 'leaseRenewed', 3000);
    expect(renewed).toEqual({ name: 'database', leaseId: lease.id });
    const after = await admin.lookupLease(lease.id);
    expect(Date.parse(after!.expire_time)).toBeGreaterThan(Date.parse(before!.expire_time));

    const revokedOld = nextEvent<LeaseEvent>(store, 'leaseRevoked', 9000, (e) => e.leaseId === lease.id);
    const rotated = await nextEvent<SecretRotatedEvent>(store, 'rotated', 8000);
    const rotatedAt = Date.now();
    const next = rotated.current.reveal() as Credentials;
    expect(rotated.reason).toBe('lease');
    expect(next.username).not.toBe(old.username);
    // Before the old credentials' lease (as last renewed) ran out, and within their max_ttl.
    const previous = rotated.previous.lease as SecretLease;
    expect(previous.id).toBe(lease.id);
    expect(rotatedAt).toBeLessThan(previous.issuedAt.getTime() + previous.ttlMs);
    // Vault counts max_ttl from the issue time truncated to the second (framework.CalculateTTL),
    // so the last renewal may reach up to a second past issuedAt + 6 s.
    expect(rotatedAt).toBeLessThan(lease.issuedAt.getTime() + 7000);
    expect(await whoAmI(next)).toBe(next.username);

    await revokedOld;
    expect(await admin.lookupLease(lease.id)).toBeUndefined();
    expect(await roleExists(old.username)).toBe(false);
    await expect(whoAmI(old)).rejects.toMatchObject({ code: expect.stringMatching(/^28/) });
  }, 20_000);

  it('revokes the old lease only once a hold() on the rotation is released', async () => {
    const store = await storeFor('held');
    const old = store.get('database').reveal() as Credentials;
    const revocations: { leaseId: string; at: number }[] = [];
    store.on('leaseRevoked', (e) => revocations.push({ leaseId: e.leaseId, at: Date.now() }));
    let release: () => void = () => {};
    const rotated = new Promise<SecretRotatedEvent>((resolve) =>
      store.once('rotated', (e) => {
        release = e.hold();
        resolve(e);
      }),
    );
    const event = await rotated;
    const oldLease = event.previous.lease as SecretLease;
    expect((event.current.reveal() as Credentials).username).not.toBe(old.username);

    // Held: the old credentials still work and the lease is still there.
    await new Promise((r) => setTimeout(r, 250));
    expect(await whoAmI(old)).toBe(old.username);
    expect(await admin.lookupLease(oldLease.id)).toBeDefined();
    expect(revocations).toEqual([]);

    const releasedAt = Date.now();
    const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 2000, (e) => e.leaseId === oldLease.id);
    release();
    await revoked;
    expect(revocations[0]!.at).toBeGreaterThanOrEqual(releasedAt);
    // Revoked by us, before the lease's own end.
    expect(revocations[0]!.at).toBeLessThan(oldLease.issuedAt.getTime() + oldLease.ttlMs);
    expect(await roleExists(old.username)).toBe(false);
  }, 15_000);

  it('takes the role from the declared path when no role is given, and refuses a path that is no role name', async () => {
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultDatabaseCredentials({ connection: vault }) },
      secrets: { database: { path: 'app' }, reporting: {} },
      refresh: false,
    });
    const err = await store.start().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SECRETS_UNAVAILABLE',
      problems: [
        {
          secret: 'reporting',
          location: 'vault database/creds/? (path billing/production/reporting)',
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('"billing/production/reporting" is not a Vault role name'),
        },
      ],
    });

    const fromPath = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultDatabaseCredentials({ connection: vault }) },
      secrets: { database: { path: 'app' } },
      refresh: false,
      revokeLeasesOnClose: true,
    }).start();
    const { username } = fromPath.get('database').reveal() as Credentials;
    expect(fromPath.get('database').lease?.id).toMatch(/^database\/creds\/app\//);
    await fromPath.close();
    expect(await roleExists(username)).toBe(false);
  });
});
