import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Crl } from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { engineApi } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

const SERIAL = /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/;
const PEM = /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/;

describe('PKI secrets engine', () => {
  let server: VaultDevServer;
  let caPem: string;
  const { call, post, data, refused } = engineApi(() => server);

  beforeAll(async () => {
    server = await startVaultDevServer();
    expect((await post('sys/mounts/pki', { type: 'pki' })).status).toBe(204);
    expect((await post('sys/mounts/pki-rsa', { type: 'pki' })).status).toBe(204);
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('root CA', () => {
    it('generates an internal root with the fields of the document and serves it on ca/pem and cert/ca', async () => {
      const answer = await post('pki/root/generate/internal', { common_name: 'example.com', ttl: '240h', key_type: 'ec' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, mount_type: 'pki' });
      const root = answer.body.data;
      expect(Object.keys(root)).toEqual(['certificate', 'expiration', 'issuer_id', 'issuer_name', 'issuing_ca', 'key_id', 'key_name', 'serial_number']);
      expect(root.certificate).toMatch(PEM);
      expect(root.issuing_ca).toBe(root.certificate);
      expect(root.serial_number).toMatch(SERIAL);
      expect(root.issuer_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(root.key_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(root.expiration - (Date.now() / 1000 + 240 * 3600))).toBeLessThan(5);
      const cert = new X509Certificate(root.certificate);
      expect(cert.ca).toBe(true);
      expect(cert.subject).toBe('CN=example.com');
      expect(cert.verify(cert.publicKey)).toBe(true);
      expect(cert.serialNumber.toLowerCase()).toBe(root.serial_number.replace(/:/g, ''));
      caPem = root.certificate;

      const pem = await call('GET', 'pki/ca/pem', undefined, null);
      expect(pem.status).toBe(200);
      expect(pem.headers.get('content-type')).toBe('application/pem-certificate-chain');
      expect(pem.text).toBe(caPem);
      const json = await data(call('GET', 'pki/cert/ca', undefined, null));
      expect(json).toMatchObject({ certificate: caPem, revocation_time: 0, issuer_id: root.issuer_id });
      expect((await data(call('GET', `pki/cert/${root.serial_number}`, undefined, null))).certificate).toBe(caPem);
    });

    it("exports an RSA 2048 root's key when asked (Vault's default key type) and refuses a root without common_name", async () => {
      const root = await data(post('pki-rsa/root/generate/exported', { common_name: 'RSA Root', ttl: '48h' }));
      expect(root.private_key_type).toBe('rsa');
      expect(root.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
      const cert = new X509Certificate(root.certificate);
      expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect((await post('pki-rsa/root/generate/internal', {})).status).toBe(400);
      expect(await post('pki-rsa/root/generate/internal', { common_name: 'x', key_type: 'dsa' })).toMatchObject(refused(400, 'unknown key type: dsa'));
    });
  });

  describe('roles', () => {
    it('writes and reads a role with Vault field names and TTLs in seconds', async () => {
      const written = await data(post('pki/roles/web', { allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: '72h', ttl: '1h', key_type: 'ec' }));
      const read = await data(call('GET', 'pki/roles/web'));
      expect(read).toEqual(written);
      expect(read).toMatchObject({
        allowed_domains: ['example.com'],
        allow_subdomains: true,
        allow_bare_domains: false,
        allow_localhost: true,
        allow_ip_sans: true,
        generate_lease: false,
        key_type: 'ec',
        key_bits: 256,
        max_ttl: 259_200,
        ttl: 3600,
      });
      expect((await data(call('LIST', 'pki/roles'))).keys).toEqual(['web']);
    });

    it('answers a missing role and bad settings as Vault does', async () => {
      expect(await call('GET', 'pki/roles/nope')).toMatchObject({ status: 404, body: { errors: [] } });
      expect(await post('pki/roles/bad', { ttl: '2h', max_ttl: '1h' })).toMatchObject(refused(400, '"ttl" value must be less than "max_ttl" value'));
      expect(await post('pki/issue/nope', { common_name: 'a.example.com' })).toMatchObject(refused(400, 'unknown role: nope'));
    });
  });

  describe('issue', () => {
    it('issues a certificate chained to the CA with the names asked for', async () => {
      const answer = await post('pki/issue/web', { common_name: 'www.example.com', alt_names: 'api.example.com', ip_sans: '127.0.0.1', ttl: '2h' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0 });
      const issued = answer.body.data;
      expect(Object.keys(issued)).toEqual(['ca_chain', 'certificate', 'expiration', 'issuing_ca', 'private_key', 'private_key_type', 'serial_number']);
      expect(issued.issuing_ca).toBe(caPem);
      expect(issued.ca_chain).toEqual([caPem]);
      expect(issued.private_key_type).toBe('ec');
      expect(issued.private_key).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
      expect(issued.serial_number).toMatch(SERIAL);
      expect(typeof issued.expiration).toBe('number');
      expect(Math.abs(issued.expiration - (Date.now() / 1000 + 7200))).toBeLessThan(5);

      const cert = new X509Certificate(issued.certificate);
      const ca = new X509Certificate(caPem);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.ca).toBe(false);
      expect(cert.subject).toBe('CN=www.example.com');
      expect(cert.subjectAltName).toBe('DNS:www.example.com, DNS:api.example.com, IP Address:127.0.0.1');
      expect(cert.checkHost('api.example.com')).toBe('api.example.com');
      expect(cert.serialNumber.toLowerCase()).toBe(issued.serial_number.replace(/:/g, ''));
      expect(Date.parse(cert.validTo) / 1000).toBe(issued.expiration);
      expect(await data(call('GET', `pki/cert/${issued.serial_number}`, undefined, null))).toMatchObject({ certificate: issued.certificate, revocation_time: 0 });
    });

    it("refuses names the role does not allow with Vault's text", async () => {
      expect(await post('pki/issue/web', { common_name: 'www.evil.com' })).toMatchObject(refused(400, 'common name www.evil.com not allowed by this role'));
      expect(await post('pki/issue/web', { common_name: 'example.com' })).toMatchObject(refused(400, 'common name example.com not allowed by this role'));
      expect(await post('pki/issue/web', { common_name: 'a.example.com', alt_names: 'b.evil.com' })).toMatchObject(
        refused(400, 'subject alternate name b.evil.com not allowed by this role'),
      );
      expect(await post('pki/issue/web', {})).toMatchObject({ status: 400 });
      await post('pki/roles/no-ip', { allowed_domains: 'example.com', allow_bare_domains: true, allow_ip_sans: false, key_type: 'ec', ttl: '1h' });
      expect(await post('pki/issue/no-ip', { common_name: 'example.com', ip_sans: '10.0.0.1' })).toMatchObject(
        refused(400, 'IP Subject Alternative Names are not allowed in this role, but was provided [10.0.0.1]'),
      );
      expect((await post('pki/issue/no-ip', { common_name: 'example.com' })).status).toBe(200);
      expect((await post('pki/issue/no-ip', { common_name: 'localhost' })).status).toBe(200);
    });

    it("caps the TTL at the role's max_ttl and refuses a certificate that would outlive the CA", async () => {
      const capped = await data(post('pki/issue/web', { common_name: 'a.example.com', ttl: '100h' }));
      expect(Math.abs(capped.expiration - (Date.now() / 1000 + 72 * 3600))).toBeLessThan(5);
      await post('pki/roles/long', { allowed_domains: 'example.com', allow_subdomains: true, key_type: 'ec', max_ttl: '1000h' });
      const past = await post('pki/issue/long', { common_name: 'a.example.com', ttl: '500h' });
      expect(past.status).toBe(400);
      expect(past.body.errors[0]).toMatch(
        /^cannot satisfy request, as TTL would result in notAfter of \d{4}-\d\d-\d\dT[\d:.]+Z that is beyond the expiration of the CA certificate at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      );
    });
  });

  describe('revocation', () => {
    it('revokes by serial number, shows it on cert/:serial and in the CRL', async () => {
      const issued = await data(post('pki/issue/web', { common_name: 'old.example.com' }));
      const revoked = await data(post('pki/revoke', { serial_number: issued.serial_number }));
      expect(Math.abs(revoked.revocation_time - Date.now() / 1000)).toBeLessThan(5);
      expect(revoked.revocation_time_rfc3339).toMatch(/Z$/);
      expect(await data(call('GET', `pki/cert/${issued.serial_number.replace(/:/g, '-')}`, undefined, null))).toMatchObject({
        certificate: issued.certificate,
        revocation_time: revoked.revocation_time,
      });
      expect((await data(post('pki/revoke', { serial_number: issued.serial_number }))).revocation_time).toBe(revoked.revocation_time);

      const crl = await call('GET', 'pki/crl/pem', undefined, null);
      expect(crl.status).toBe(200);
      const parsed = new X509Crl(crl.text);
      expect(await parsed.verify({ publicKey: await new (await import('@peculiar/x509')).X509Certificate(caPem).publicKey.export() })).toBe(true);
      expect(parsed.findRevoked(issued.serial_number.replace(/:/g, ''))).not.toBeNull();

      expect(await post('pki/revoke', { serial_number: 'aa:bb' })).toMatchObject(refused(400, 'certificate with serial aa:bb not found.'));
      expect(await call('GET', 'pki/cert/aa:bb', undefined, null)).toMatchObject({ status: 404 });
    });

    it('gives a non-renewable lease when the role has generate_lease, and revoking the lease revokes the certificate', async () => {
      await post('pki/roles/leased', { allowed_domains: 'example.com', allow_subdomains: true, generate_lease: true, key_type: 'ec', ttl: '30m' });
      const answer = await post('pki/issue/leased', { common_name: 'svc.example.com' });
      expect(answer.status).toBe(200);
      expect(answer.body.lease_id).toMatch(/^pki\/issue\/leased\/\w+$/);
      expect(answer.body.renewable).toBe(false);
      expect(Math.abs(answer.body.lease_duration - 1800)).toBeLessThan(5);
      const serial = answer.body.data.serial_number;
      expect(await post('sys/leases/renew', { lease_id: answer.body.lease_id })).toMatchObject(refused(400, 'lease is not renewable'));
      expect((await data(call('GET', `pki/cert/${serial}`, undefined, null))).revocation_time).toBe(0);
      expect((await post('sys/leases/revoke', { lease_id: answer.body.lease_id })).status).toBe(204);
      expect((await data(call('GET', `pki/cert/${serial}`, undefined, null))).revocation_time).toBeGreaterThan(0);
    });
  });

  it('serves a real TLS handshake to a client that trusts only issuing_ca', async () => {
    const issued = await data(post('pki/issue/web', { common_name: 'tls.example.com', ttl: '1h' }));
    const https = createServer({ key: issued.private_key, cert: issued.certificate }, (_req, res) => res.end('hello over tls'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = https.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ca: [issued.issuing_ca], servername: 'tls.example.com' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('hello over tls');
      const wrongName = await new Promise<Error>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ca: [issued.issuing_ca], servername: 'other.example.org' }, () => resolve(new Error('connected')));
        req.on('error', resolve);
        req.end();
      });
      expect(wrongName.message).toMatch(/Hostname\/IP does not match/);
    } finally {
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it("obeys the dev server's ACL policies", async () => {
    await post('sys/policies/acl/issuer', { policy: 'path "pki/issue/web" { capabilities = ["update"] }' });
    const token = (await post('auth/token/create', { policies: ['issuer'] })).body.auth.client_token as string;
    expect((await post('pki/issue/web', { common_name: 'acl.example.com', ttl: '1h' }, token)).status).toBe(200);
    expect((await post('pki/roles/web', { allow_any_name: true }, token)).status).toBe(403);
    expect((await post('pki/root/generate/internal', { common_name: 'x' }, token)).status).toBe(403);
    expect((await call('GET', 'pki/ca/pem', undefined, null)).status).toBe(200);
  });
});
