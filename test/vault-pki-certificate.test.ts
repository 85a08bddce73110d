import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KeywardError, SecretStore, type LeaseEvent, type SecretLease, type SecretRefreshedEvent, type SecretRotatedEvent } from '@keyward/core';
import { mountPkiEngine, startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultPkiCertificate, type VaultConnection, type VaultPkiCertificateOptions } from '@keyward/vault';
import { canary, expectNoCanary, nextEvent, rejected, thrown } from '@keyward/test-support';
import { startRecordingProxy, vaultAdmin, type RecordingProxy, type VaultAdmin } from '@keyward/test-support/vault';
import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';

type Issued = {
  certificate: string;
  private_key: string;
  issuing_ca: string;
  ca_chain: string;
  serial_number: string;
  private_key_type: string;
  expiration: string;
};

/** The base64 body of a PEM: what must never show up in messages, logs or health. */
const pemBody = (pem: string): string => pem.split('\n').slice(1, -1).join('');

describe('vaultPkiCertificate against the Vault dev server', () => {
  let server: VaultDevServer;
  let proxy: RecordingProxy;
  let admin: VaultAdmin;
  let vault: VaultConnection;
  const rootToken = canary('root-token');
  const stores: SecretStore[] = [];

  async function storeFor(options: Partial<VaultPkiCertificateOptions>): Promise<SecretStore> {
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'billing.example.com', ...options }) },
      secrets: { tls: {} },
      refresh: false,
    });
    stores.push(store);
    return store.start();
  }

  /** `GET pki/cert/<serial>`: when Vault revoked it (0: not revoked). */
  async function revocationTime(serial: string): Promise<number> {
    return (await admin.call<{ data: { revocation_time: number } }>('GET', `pki/cert/${serial}`)).data.revocation_time;
  }

  const issues = (role = 'web') => proxy.count('POST', `/v1/pki/issue/${role}`, 200);

  beforeAll(async () => {
    server = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(server.url, server.rootToken);
    await mountPkiEngine(server, { roles: { web: { allowedDomains: ['example.com'] }, leased: { allowedDomains: ['example.com'], generateLease: true } } });
    proxy = await startRecordingProxy(server.url);
    vault = createVaultConnection({ endpoint: proxy.url, auth: tokenAuth({ token: rootToken }) });
  }, 30_000);
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await vault?.close();
    await proxy?.close();
    await server?.close();
  });

  it('issues a certificate for the names asked, with its key, chained to issuing_ca, versioned by its serial, and never shown', async () => {
    const store = await storeFor({ altNames: ['api.example.com'], ipSans: ['127.0.0.1'], ttl: '30m' });
    const secret = store.get('tls');
    const tls = secret.reveal() as Issued;
    const cert = new X509Certificate(tls.certificate);
    const ca = new X509Certificate(tls.issuing_ca);

    expect(secret.version).toBe(tls.serial_number);
    expect(cert.serialNumber.toLowerCase()).toBe(tls.serial_number.replace(/:/g, ''));
    expect(cert.subject).toBe('CN=billing.example.com');
    expect(cert.subjectAltName).toBe('DNS:billing.example.com, DNS:api.example.com, IP Address:127.0.0.1');
    expect(cert.checkHost('api.example.com')).toBe('api.example.com');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(tls.private_key))).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(tls.ca_chain).toBe(tls.issuing_ca);
    expect(tls.private_key_type).toBe('ec');
    expect(Number(tls.expiration) * 1000).toBe(Date.parse(cert.validTo));
    // Asked for 30 minutes: the certificate ends then, and so does the lease the store keeps.
    expect(Math.abs(Number(tls.expiration) - (Date.now() / 1000 + 1800))).toBeLessThan(5);
    const lease = secret.lease as SecretLease;
    expect(lease).toMatchObject({ id: `pki-serial:${tls.serial_number}`, renewable: false });
    expect(Math.abs(lease.issuedAt.getTime() + lease.ttlMs - Number(tls.expiration) * 1000)).toBeLessThan(1000);
    expect(issues()).toBe(1);

    // What an app logs or reports about the secret holds no key, no certificate, no token.
    expectNoCanary(
      {
        string: String(secret),
        json: JSON.stringify(secret),
        inspect: inspect(secret, { depth: 5 }),
        health: JSON.stringify(store.health()),
        location: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'billing.example.com' }).locate({ name: 'tls', path: 'tls', app: 'billing', environment: 'production' }),
      },
      pemBody(tls.private_key),
      pemBody(tls.certificate),
      rootToken,
    );
  });

  it('gets a new certificate before a short-lived one expires, and leaves the old one unrevoked by default', async () => {
    const revokeCalls = proxy.count('POST', '/v1/pki/revoke') + proxy.count('PUT', '/v1/sys/leases/revoke');
    const store = await storeFor({ ttl: '3s' });
    const first = store.get('tls');
    const old = first.reveal() as Issued;
    const revocations: LeaseEvent[] = [];
    store.on('leaseRevoked', (e) => revocations.push(e));

    const rotated = await nextEvent<SecretRotatedEvent>(store, 'rotated', 4000);
    const rotatedAt = Date.now();
    const next = rotated.current.reveal() as Issued;
    expect(rotated.reason).toBe('lease');
    expect(rotated.previous.version).toBe(old.serial_number);
    expect(rotated.current.version).toBe(next.serial_number);
    expect(next.serial_number).not.toBe(old.serial_number);
    // Before the first certificate ran out, and the new one lasts longer.
    expect(rotatedAt).toBeLessThan(Number(old.expiration) * 1000);
    expect(Number(next.expiration)).toBeGreaterThan(Number(old.expiration));
    expect(Date.parse(new X509Certificate(next.certificate).validTo)).toBeGreaterThan(Date.parse(new X509Certificate(old.certificate).validTo));
    expect(store.get('tls').version).toBe(next.serial_number);

    // Nothing asked Vault to revoke the replaced certificate.
    await new Promise((r) => setTimeout(r, 200));
    expect(revocations).toEqual([]);
    expect(proxy.count('POST', '/v1/pki/revoke') + proxy.count('PUT', '/v1/sys/leases/revoke')).toBe(revokeCalls);
    expect(await revocationTime(old.serial_number)).toBe(0);
  }, 10_000);

  it('with revokeReplaced, revokes the replaced certificate by serial once the hold on the rotation is released', async () => {
    const bySerial = proxy.count('POST', '/v1/pki/revoke', 200);
    const byLease = proxy.count('PUT', '/v1/sys/leases/revoke');
    const store = await storeFor({ ttl: '3s', revokeReplaced: true });
    let release: () => void = () => {};
    const rotated = new Promise<SecretRotatedEvent>((resolve) =>
      store.once('rotated', (e) => {
        release = e.hold();
        resolve(e);
      }),
    );
    const event = await rotated;
    const old = event.previous.reveal() as Issued;
    const oldLease = event.previous.lease as SecretLease;
    expect(oldLease.id).toBe(`pki-serial:${old.serial_number}`);

    // Held: the old certificate is still good.
    await new Promise((r) => setTimeout(r, 150));
    expect(await revocationTime(old.serial_number)).toBe(0);

    const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 2000, (e) => e.leaseId === oldLease.id);
    const releasedAt = Date.now();
    release();
    await revoked;
    const at = await revocationTime(old.serial_number);
    expect(at * 1000).toBeGreaterThanOrEqual(Math.floor(releasedAt / 1000) * 1000);
    expect(at).toBeLessThanOrEqual(Number(old.expiration));
    expect(proxy.count('POST', '/v1/pki/revoke', 200) - bySerial).toBe(1);
    expect(proxy.count('PUT', '/v1/sys/leases/revoke')).toBe(byLease);
    // The certificate in use is not touched.
    expect(await revocationTime((event.current.reveal() as Issued).serial_number)).toBe(0);
  }, 10_000);

  it("with revokeReplaced and a generate_lease role, keeps Vault's lease and revokes the replaced certificate through it", async () => {
    const store = await storeFor({ role: 'leased', ttl: '3s', revokeReplaced: true });
    const first = store.get('tls');
    const lease = first.lease as SecretLease;
    expect(lease.id).toMatch(/^pki\/issue\/leased\//);
    expect(lease.renewable).toBe(false);
    const old = first.reveal() as Issued;
    const bySerial = proxy.count('POST', '/v1/pki/revoke');
    const byLease = proxy.count('PUT', '/v1/sys/leases/revoke', 204);

    const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 4000, (e) => e.leaseId === lease.id);
    const rotated = await nextEvent<SecretRotatedEvent>(store, 'rotated', 4000);
    expect(rotated.reason).toBe('lease');
    await revoked;
    // Revoked by us, before the lease (and the certificate) would have ended on their own.
    expect(Date.now()).toBeLessThan(Number(old.expiration) * 1000);
    expect(await admin.lookupLease(lease.id)).toBeUndefined();
    expect(await revocationTime(old.serial_number)).toBeGreaterThan(0);
    expect(proxy.count('PUT', '/v1/sys/leases/revoke', 204) - byLease).toBe(1);
    expect(proxy.count('POST', '/v1/pki/revoke')).toBe(bySerial);
  }, 10_000);

  it('answers a refresh while the certificate is valid without issuing a new one', async () => {
    const store = new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'refresh.example.com', ttl: '10m' }) },
      secrets: { tls: { refresh: { interval: 50, jitter: 0 } } },
    });
    stores.push(store);
    const before = issues();
    await store.start();
    const version = store.get('tls').version;
    const refreshed: SecretRefreshedEvent[] = [];
    store.on('refreshed', (e) => refreshed.push(e));

    await store.refresh('tls');
    await store.refresh('tls');
    await new Promise((r) => setTimeout(r, 300));
    expect(refreshed.filter((e) => e.reason === 'interval').length).toBeGreaterThanOrEqual(2);
    expect(refreshed.filter((e) => e.reason === 'manual')).toHaveLength(2);
    expect(refreshed.every((e) => e.changed === false)).toBe(true);
    expect(store.get('tls').version).toBe(version);
    expect(issues() - before).toBe(1);
  });

  describe('errors', () => {
    /** The one problem of a store that failed to start. */
    async function startFailure(options: Partial<VaultPkiCertificateOptions>): Promise<{ err: KeywardError; problem: { code: string; message: string; location?: string } }> {
      const err = await rejected(storeFor(options));
      expect(err.code).toBe('SECRETS_UNAVAILABLE');
      const problems = (err as KeywardError & { problems: { code: string; message: string; location?: string }[] }).problems;
      expect(problems).toHaveLength(1);
      return { err, problem: problems[0]! };
    }

    it('fails start-up for an unknown role with a message that names the path and carries no PEM', async () => {
      const { err, problem } = await startFailure({ role: 'nope' });
      expect(problem).toMatchObject({ code: 'CONFIG_INVALID', location: 'vault pki/issue/nope' });
      expect(problem.message).toContain('POST /v1/pki/issue/nope');
      expect(problem.message).toContain('unknown role: nope');
      for (const text of [err.message, String(err), inspect(err, { depth: 5 }), JSON.stringify(err)]) expect(text).not.toMatch(/BEGIN|PRIVATE KEY/);
      expectNoCanary({ message: err.message, inspect: inspect(err, { depth: 5 }) }, rootToken);
    });

    it("passes on Vault's refusal of a name the role does not allow", async () => {
      const { problem } = await startFailure({ commonName: 'www.evil.com' });
      expect(problem.code).toBe('CONFIG_INVALID');
      expect(problem.message).toContain('common name www.evil.com not allowed by this role');
      const alt = await startFailure({ altNames: ['b.evil.com'] });
      expect(alt.problem.message).toContain('subject alternate name b.evil.com not allowed by this role');
    });

    it('refuses bad options with CONFIG_INVALID before calling Vault', () => {
      const calls = proxy.calls.length;
      const base = { connection: vault, role: 'web', commonName: 'a.example.com' };
      expect(thrown(() => vaultPkiCertificate({ ...base, role: 'web/../sys' })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, role: '' })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, commonName: '' })).message).toContain('commonName');
      expect(thrown(() => vaultPkiCertificate({ ...base, commonName: '  ' })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, ipSans: ['not-an-ip'] })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, altNames: ['a.example.com,b.example.com'] })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, ttl: 'soon' })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => vaultPkiCertificate({ ...base, mount: 'pki/../sys' })).code).toBe('CONFIG_INVALID');
      expect(proxy.calls.length).toBe(calls);
    });

    it('refuses a role from a function that is no role name when the secret is read', async () => {
      const { problem } = await startFailure({ role: (ref) => ref.path });
      expect(problem).toMatchObject({ code: 'CONFIG_INVALID', location: 'vault pki/issue/? (path billing/production/tls)' });
      expect(problem.message).toContain('"billing/production/tls" is not a Vault role name');
    });

    it('reports an answer without a key as SECRET_INVALID, without the material it did hold', async () => {
      const planted = canary('certificate-body');
      const fake = {
        request: async () => ({ status: 200, body: { lease_id: '', data: { certificate: `-----BEGIN CERTIFICATE-----\n${planted}\n-----END CERTIFICATE-----`, serial_number: '01:02', expiration: 2_000_000_000 } } }),
      } as unknown as VaultConnection;
      const provider = vaultPkiCertificate({ connection: fake, role: 'web', commonName: 'a.example.com' });
      expect(provider.revoke).toBeUndefined();
      expect(provider.close).toBeUndefined();
      const err = await rejected(provider.read({ name: 'tls', path: 'tls', app: 'billing', environment: 'production' }, { signal: new AbortController().signal }));
      expect(err.code).toBe('SECRET_INVALID');
      expect(err.message).toContain('pki/issue/web');
      expectNoCanary({ message: err.message, inspect: inspect(err, { depth: 5 }) }, planted);
    });

    it('refuses a certificate that ends at once (a CA about to expire truncating it), so the store retries with backoff instead of reissuing in a loop', async () => {
      const fake = {
        request: async () => ({
          status: 200,
          body: { lease_id: '', data: { certificate: 'c', private_key: 'k', serial_number: '01:02', expiration: Math.floor(Date.now() / 1000) } },
        }),
      } as unknown as VaultConnection;
      const provider = vaultPkiCertificate({ connection: fake, role: 'web', commonName: 'a.example.com' });
      const err = await rejected(provider.read({ name: 'tls', path: 'tls', app: 'billing', environment: 'production' }, { signal: new AbortController().signal }));
      expect(err.code).toBe('SECRET_INVALID');
      expect(err.message).toContain('expires within a second');
    });
  });
});
