import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as http2Connect, createSecureServer } from 'node:http2';
import { Agent as HttpsAgent, createServer, get, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { closeAfterEach, memoryProvider, mountLikeKubelet, nextEvent, swapLikeKubelet, thrown, type MemoryProvider } from '@keyward/test-support';
import { testCertificate, type TestCertificate } from '@keyward/test-support/tls';
import { keywardHealthReport } from '../health/keyward-health.js';
import { fileProvider } from '../providers/file.provider.js';
import { SecretStore } from '../store/secret-store.js';
import { tlsFromSecret, type TlsFromSecret, type TlsFromSecretEvents } from './tls-from-secret.js';
import { checkTlsCertificate, TlsRefusal } from './tls-material.js';
import { sniCallback } from './sni.js';

/** A Kubernetes TLS secret's keys, as a mounted directory reads. */
const k8s = (leaf: TestCertificate, ca?: TestCertificate) => ({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, ...(ca ? { 'ca.crt': ca.cert } : {}) });
/** The PEM body of a key: what must never show outside the secret. */
const body = (pem: string) => pem.split('\n').slice(1, -2).join('');

describe('tlsFromSecret', () => {
  const track = closeAfterEach();
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });
  let root: TestCertificate;
  let intermediate: TestCertificate;
  beforeAll(async () => {
    root = await testCertificate({ ca: true, commonName: 'Keyward Test Root' });
    intermediate = await testCertificate({ ca: true, commonName: 'Keyward Test Intermediate', issuer: root });
  });

  async function storeWith(value: unknown): Promise<{ store: SecretStore; provider: MemoryProvider }> {
    const provider = memoryProvider({ tls: value });
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { tls: {} }, refresh: false }).start());
    return { store, provider };
  }

  async function rotate(store: SecretStore, provider: MemoryProvider, value: unknown, name = 'tls'): Promise<void> {
    provider.values[name] = value;
    await store.refresh(name);
  }

  function follow(cert: TlsFromSecret): TlsFromSecret {
    closers.push(() => cert.close());
    return cert;
  }

  async function listen<S extends Server | ReturnType<typeof createSecureServer>>(server: S): Promise<{ server: S; port: number }> {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => {
      (server as Server).closeAllConnections?.();
      server.close();
    });
    return { server, port: (server.address() as AddressInfo).port };
  }

  /** Opens a TLS connection that trusts only the root, and returns it with the serial it was served. */
  async function handshake(port: number): Promise<{ socket: TLSSocket; serial: string }> {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: root.cert, servername: 'localhost' });
    closers.push(() => socket.destroy());
    await once(socket, 'secureConnect');
    return { socket, serial: socket.getPeerCertificate().serialNumber };
  }

  it('serves a Kubernetes TLS secret, swaps a rotated one in for new connections, and keeps open ones up', async () => {
    const first = await testCertificate({ issuer: root });
    const second = await testCertificate({ issuer: root });
    const { store, provider } = await storeWith(k8s(first, root));
    const cert = follow(tlsFromSecret(store, 'tls'));
    const { port } = await listen(cert.attach(createServer(cert.options(), (_req, res) => res.end('ok'))));

    const before = await handshake(port);
    expect(before.serial).toBe(first.serial);
    const updated = nextEvent(cert, 'updated');
    await rotate(store, provider, k8s(second, root));
    expect(await updated).toMatchObject({ serial: second.serial, previous: expect.any(String) });

    expect((await handshake(port)).serial).toBe(second.serial);
    // The connection made before the swap is still up and still talks.
    expect(before.socket.destroyed).toBe(false);
    before.socket.write('ping');
    expect(cert.certificate.serial).toBe(second.serial);
    expect(cert.health()).toMatchObject({ status: 'ok', certificate: { serial: second.serial } });
  });

  it("follows a Kubernetes TLS secret mounted as files: the kubelet's ..data swap reaches new connections with refresh off", async () => {
    const first = await testCertificate({ issuer: root });
    const second = await testCertificate({ issuer: root });
    const root_ = await mkdtemp(join(tmpdir(), 'keyward-tls-'));
    closers.push(() => void rm(root_, { recursive: true, force: true }));
    const dir = join(root_, 'tls');
    await mountLikeKubelet(dir, k8s(first, root), '..2026_01_01');
    const store = track(await new SecretStore({ app: 'a', environment: 'production', providers: { production: fileProvider({ root: root_ }) }, secrets: { tls: {} }, refresh: false }).start());
    const cert = follow(tlsFromSecret(store, 'tls'));
    const { port } = await listen(cert.attach(createServer(cert.options())));
    expect((await handshake(port)).serial).toBe(first.serial);
    const updated = nextEvent(cert, 'updated', 3000);
    await swapLikeKubelet(dir, k8s(second, root), '..2026_01_01', '..2026_01_02');
    await updated;
    expect((await handshake(port)).serial).toBe(second.serial);
  });

  it('serves the intermediates from a Vault PKI answer, so a client that trusts only the root completes the chain', async () => {
    const leaf = await testCertificate({ issuer: intermediate });
    const { store } = await storeWith({ certificate: leaf.cert, private_key: leaf.key, issuing_ca: intermediate.cert, ca_chain: `${intermediate.cert}${root.cert}`, serial_number: 'x' });
    const cert = follow(tlsFromSecret(store, 'tls'));
    const { port } = await listen(cert.attach(createServer(cert.options())));
    const { socket, serial } = await handshake(port);
    expect(serial).toBe(leaf.serial);
    const served = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
    expect(served.issuerCertificate?.serialNumber).toBe(intermediate.serial);
  });

  it('swaps certificates on an http2 server: a session open before the swap keeps working, a new one sees the new serial', async () => {
    const first = await testCertificate({ issuer: root });
    const second = await testCertificate({ issuer: root });
    const { store, provider } = await storeWith(k8s(first, root));
    const cert = follow(tlsFromSecret(store, 'tls'));
    const { port } = await listen(cert.attach(createSecureServer(cert.options(), (_req, res) => res.end('ok'))));
    const ask = (session: ReturnType<typeof http2Connect>) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        let text = '';
        stream.setEncoding('utf8').on('data', (c: string) => (text += c));
        stream.on('end', () => resolve(text)).on('error', reject);
      });
    const open = async () => {
      const session = http2Connect(`https://localhost:${port}`, { ca: root.cert });
      closers.push(() => session.destroy());
      await once(session, 'connect');
      return session;
    };
    const old = await open();
    expect(await ask(old)).toBe('ok');
    await rotate(store, provider, k8s(second, root));
    const fresh = await open();
    expect((fresh.socket as TLSSocket).getPeerCertificate().serialNumber).toBe(second.serial);
    expect(await ask(old)).toBe('ok');
    expect((old.socket as TLSSocket).getPeerCertificate().serialNumber).toBe(first.serial);
  });

  describe('refuses a bad certificate, keeps serving the old one and says so in health', () => {
    const cases: [string, () => Promise<unknown>][] = [
      ['key-mismatch', async () => ({ 'tls.crt': (await testCertificate({ issuer: root })).cert, 'tls.key': (await testCertificate({ issuer: root })).key, 'ca.crt': root.cert })],
      ['expired', async () => k8s(await testCertificate({ issuer: root, notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 60_000) }), root)],
      ['not-yet-valid', async () => k8s(await testCertificate({ issuer: root, notBefore: new Date(Date.now() + 3_600_000), notAfter: new Date(Date.now() + 7_200_000) }), root)],
      // Signed by the intermediate, which is nowhere: clients could not build the chain.
      ['chain-incomplete', async () => k8s(await testCertificate({ issuer: intermediate }), root)],
      ['malformed', async () => ({ 'tls.crt': 'not a certificate', 'tls.key': 'no key' })],
    ];
    it.each(cases)('%s', async (problem, make) => {
      const good = await testCertificate({ issuer: root });
      const { store, provider } = await storeWith(k8s(good, root));
      const cert = follow(tlsFromSecret(store, 'tls'));
      const { port } = await listen(cert.attach(createServer(cert.options())));
      const bad = await make();
      const rejected = nextEvent<TlsFromSecretEvents['rejected'][0]>(cert, 'rejected');
      await rotate(store, provider, bad);
      const event = await rejected;
      expect(event.problem).toBe(problem);
      expect(event.error.code).toBe('SECRET_INVALID');
      expect(event.error.message).toContain(`(${problem})`);
      expect((await handshake(port)).serial).toBe(good.serial);
      const health = cert.health();
      expect(health).toMatchObject({ status: 'degraded', certificate: { serial: good.serial }, rejected: { version: store.get('tls').version, problem, error: 'SECRET_INVALID' } });
      expect(keywardHealthReport({ store, tls: { web: cert } })).toMatchObject({ status: 'degraded', checks: { tls: { web: { status: 'degraded' } } } });
      const key = (bad as Record<string, string>)['tls.key']!;
      if (key.includes('PRIVATE KEY')) expect(JSON.stringify([health, event.error.message, String(event.error.cause ?? '')])).not.toContain(body(key));
      // The next good certificate clears it.
      const next = await testCertificate({ issuer: root });
      await rotate(store, provider, k8s(next, root));
      expect(cert.health()).toEqual({ status: 'ok', certificate: expect.objectContaining({ serial: next.serial }), expiresInMs: expect.any(Number) });
    });
  });

  it('refuses a bad first certificate with SECRET_INVALID, naming the secret and the problem but never the key', async () => {
    const expired = await testCertificate({ issuer: root, notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 1000) });
    const { store } = await storeWith(k8s(expired, root));
    const err = thrown(() => tlsFromSecret(store, 'tls'));
    expect(err).toMatchObject({ code: 'SECRET_INVALID', problem: 'expired', secret: 'tls' });
    expect(String((err as Error).message)).not.toContain(body(expired.key));
    // A PEM bundle (certificate then key in one string) is taken as well.
    const good = await testCertificate({ issuer: root });
    const { store: bundled } = await storeWith(`${good.cert}${good.key}`);
    expect(follow(tlsFromSecret(bundled, 'tls', { trust: root.cert })).certificate.serial).toBe(good.serial);
    // Without the root anywhere, the chain is incomplete.
    const { store: untrusted } = await storeWith(`${good.cert}${good.key}`);
    expect(thrown(() => tlsFromSecret(untrusted, 'tls'))).toMatchObject({ code: 'SECRET_INVALID', problem: 'chain-incomplete' });
  });

  it('reports degraded in the last tenth of the certificate’s life as served, and down once it has expired', async () => {
    const cert100s = await testCertificate({ issuer: root, notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 100_000) });
    const { store } = await storeWith(k8s(cert100s, root));
    const cert = follow(tlsFromSecret(store, 'tls'));
    // Its life counts from when it began to be served, not from a backdated notBefore (Vault's 30 s).
    expect(cert.health().status).toBe('ok');
    const notAfter = Date.parse(cert.certificate.notAfter);
    const clock = jest.spyOn(Date, 'now');
    try {
      clock.mockReturnValue(notAfter - 5_000);
      expect(cert.health()).toMatchObject({ status: 'degraded', expiresInMs: 5_000 });
      expect(keywardHealthReport({ store, tls: { web: cert } }).status).toBe('degraded');
      clock.mockReturnValue(notAfter + 1);
      expect(cert.health()).toMatchObject({ status: 'down', expiresInMs: -1 });
    } finally {
      clock.mockRestore();
    }
  });

  describe('presents the certificate to a server that requires client certificates (mutual TLS)', () => {
    async function mtlsServer() {
      const serverCert = await testCertificate({ issuer: root });
      const seen: string[] = [];
      const server = createServer({ cert: serverCert.cert, key: serverCert.key, ca: root.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
        const serial = (req.socket as TLSSocket).getPeerCertificate().serialNumber;
        seen.push(serial);
        // `/close` ends the connection after the answer: the client's next call makes a new one.
        if (req.url === '/close') res.setHeader('connection', 'close');
        res.end(serial);
      });
      return { ...(await listen(server)), seen };
    }

    it('https.Agent: new connections present the newest certificate; idle ones from before are closed at the swap', async () => {
      const first = await testCertificate({ issuer: root, commonName: 'client' });
      const second = await testCertificate({ issuer: root, commonName: 'client' });
      const { store, provider } = await storeWith(k8s(first, root));
      const cert = follow(tlsFromSecret(store, 'tls'));
      const agent = cert.httpsAgent({ ca: root.cert, keepAlive: true });
      closers.push(() => agent.destroy());
      const { port } = await mtlsServer();
      const call = () =>
        new Promise<{ serial: string; socket: unknown }>((resolve, reject) => {
          get({ host: '127.0.0.1', port, servername: 'localhost', path: '/', agent }, (res) => {
            let text = '';
            const socket = res.socket;
            res.setEncoding('utf8').on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ serial: text, socket }));
          }).on('error', reject);
        });
      const a = await call();
      expect(a.serial).toBe(first.serial);
      // Kept alive: the next call reuses the connection.
      expect((await call()).socket).toBe(a.socket);
      await rotate(store, provider, k8s(second, root));
      const b = await call();
      expect(b.serial).toBe(second.serial);
      expect(b.socket).not.toBe(a.socket);
      expect((a.socket as TLSSocket).destroyed).toBe(true);
      expect(agent).toBeInstanceOf(HttpsAgent);
    });

    it('undici: each new connection presents the newest certificate', async () => {
      const first = await testCertificate({ issuer: root, commonName: 'client' });
      const second = await testCertificate({ issuer: root, commonName: 'client' });
      const { store, provider } = await storeWith(k8s(first, root));
      const cert = follow(tlsFromSecret(store, 'tls'));
      const dispatcher = new UndiciAgent({ connect: cert.undiciConnect({ ca: root.cert }) });
      closers.push(() => void dispatcher.close());
      const { port } = await mtlsServer();
      const call = async (path = '/') => (await undiciRequest(`https://localhost:${port}${path}`, { dispatcher })).body.text();
      expect(await call('/close')).toBe(first.serial);
      await rotate(store, provider, k8s(second, root));
      expect(await call('/close')).toBe(second.serial);
      // A server it does not trust is refused.
      const strangers = new UndiciAgent({ connect: cert.undiciConnect() });
      closers.push(() => void strangers.close());
      await expect(undiciRequest(`https://localhost:${port}/`, { dispatcher: strangers })).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SELF_SIGNED|UNABLE/) });
    });
  });

  it('serves one certificate per host name with sniCallback, each swapped live, and the default for other names', async () => {
    const certs = {
      shop: await testCertificate({ issuer: root, dnsNames: ['shop.localhost'] }),
      api: await testCertificate({ issuer: root, dnsNames: ['api.localhost'] }),
      api2: await testCertificate({ issuer: root, dnsNames: ['api.localhost'] }),
      tenants: await testCertificate({ issuer: root, dnsNames: ['*.tenants.localhost'] }),
    };
    const provider = memoryProvider({ shop: k8s(certs.shop, root), api: k8s(certs.api, root), tenants: k8s(certs.tenants, root) });
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { shop: {}, api: {}, tenants: {} }, refresh: false }).start());
    const [shop, api, tenants] = (['shop', 'api', 'tenants'] as const).map((name) => follow(tlsFromSecret(store, name)));
    const sni = sniCallback({ 'API.localhost': api!, '*.tenants.localhost': tenants! });
    const { port } = await listen(shop!.attach(createServer({ ...shop!.options(), SNICallback: sni })));
    const servedTo = async (servername: string) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: root.cert, servername });
      closers.push(() => socket.destroy());
      await once(socket, 'secureConnect');
      return socket.getPeerCertificate().serialNumber;
    };
    expect(await servedTo('api.localhost')).toBe(certs.api.serial);
    expect(await servedTo('acme.tenants.localhost')).toBe(certs.tenants.serial);
    expect(await servedTo('shop.localhost')).toBe(certs.shop.serial);
    await rotate(store, provider, k8s(certs.api2, root), 'api');
    expect(await servedTo('api.localhost')).toBe(certs.api2.serial);
    expect(() => sniCallback({ 'a.*.localhost': api! })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  describe('checkTlsCertificate: the same checks before an upload', () => {
    it('describes a good certificate with the chain it would serve, and refuses by problem at a given time', async () => {
      const leaf = await testCertificate({ issuer: intermediate, notAfter: new Date(Date.now() + 3 * 86_400_000) });
      const info = checkTlsCertificate({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': `${intermediate.cert}${root.cert}` });
      expect(info).toMatchObject({ serial: leaf.serial, subject: 'CN=localhost', issuer: 'CN=Keyward Test Intermediate', chainLength: 2 });
      expect(info).not.toHaveProperty('version');
      // In a week it will have expired.
      const later = thrown(() => checkTlsCertificate({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': `${intermediate.cert}${root.cert}` }, { at: new Date(Date.now() + 7 * 86_400_000) }));
      expect(later).toBeInstanceOf(TlsRefusal);
      expect(later).toMatchObject({ code: 'SECRET_INVALID', problem: 'expired' });
      expect((later as Error).message).toMatch(/^the given TLS certificate is refused \(expired\)/);
      // Without the intermediate, a client could not build the chain.
      expect(thrown(() => checkTlsCertificate(`${leaf.cert}${leaf.key}`, { trust: root.cert }))).toMatchObject({ problem: 'chain-incomplete' });
      expect(checkTlsCertificate(Buffer.from(`${leaf.cert}${intermediate.cert}${leaf.key}`), { trust: root.cert }).chainLength).toBe(2);
      expect(thrown(() => checkTlsCertificate(42))).toMatchObject({ problem: 'malformed' });
    });
  });
});
