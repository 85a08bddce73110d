import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, tlsFromSecret, type TlsFromSecret } from '@keyward/core';
import { mountPkiEngine, startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultPkiCertificate, type VaultConnection } from '@keyward/vault';
import { canary } from '@keyward/test-support';
import { vaultAdmin, type VaultAdmin } from '@keyward/test-support/vault';
import { once } from 'node:events';
import { Agent, createServer, get, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

type Issued = { certificate: string; private_key: string; issuing_ca: string; serial_number: string };

/** A serial as Node prints it (uppercase hex) from Vault's colon form. */
const nodeSerial = (vault: string) => vault.replace(/:/g, '').toUpperCase();

/** When each certificate began to be served: the first, then each `updated`. */
class Timeline {
  readonly entries: { at: number; serial: string }[];
  constructor(cert: TlsFromSecret) {
    this.entries = [{ at: Date.now(), serial: cert.certificate.serial }];
    cert.on('updated', ({ serial }) => this.entries.push({ at: Date.now(), serial }));
  }
  /** The index of the certificate served at `at`. */
  currentAt(at: number): number {
    return this.entries.findLastIndex((e) => e.at <= at);
  }
  indexOf(serial: string): number {
    return this.entries.findIndex((e) => e.serial === serial);
  }
}

describe('TLS certificates from Vault PKI renewed under load', () => {
  let vaultServer: VaultDevServer;
  let admin: VaultAdmin;
  let vault: VaultConnection;
  const rootToken = canary('root-token');

  beforeAll(async () => {
    vaultServer = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(vaultServer.url, vaultServer.rootToken);
    await mountPkiEngine(vaultServer, { roles: { web: { allowedDomains: ['example.com'] } } });
    vault = createVaultConnection({ endpoint: vaultServer.url, auth: tokenAuth({ token: rootToken }) });
  }, 30_000);
  afterAll(async () => {
    await vault?.close();
    await vaultServer?.close();
  });

  it('serves every request while the server and client certificates renew: no failed handshake, long-lived connections stay up, new connections see the new serials', async () => {
    // The server's certificate lives 3 s and the client's 4 s: the store reissues each at about
    // 2/3 of its life, so several renewals of both happen while the load runs.
    const store = await new SecretStore({
      app: 'shop',
      environment: 'production',
      providers: {
        production: {
          default: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'localhost', ipSans: ['127.0.0.1'], ttl: '3s' }),
          client: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'orders.example.com', ttl: '4s' }),
        },
      },
      secrets: { tls: {}, clientTls: { provider: 'client' } },
      refresh: false,
    }).start();
    const servers: Server[] = [];
    const agents: Agent[] = [];
    try {
      const ca = (store.get('tls').reveal() as Issued).issuing_ca;
      // Mutual TLS: the server asks for a client certificate issued by the same CA.
      const serverCert = tlsFromSecret(store, 'tls', { context: { ca } });
      const clientCert = tlsFromSecret(store, 'clientTls');
      const serverTimeline = new Timeline(serverCert);
      const clientTimeline = new Timeline(clientCert);
      const failures: string[] = [];
      const server = serverCert.attach(
        createServer({ ...serverCert.options(), requestCert: true, rejectUnauthorized: true }, (req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end((req.socket as TLSSocket).getPeerCertificate().serialNumber);
        }),
      );
      server.on('tlsClientError', (err) => failures.push(`server handshake: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;

      type Answer = { serverSerial: string; clientSerial: string; socket: TLSSocket };
      const call = (agent: Agent) =>
        new Promise<Answer>((resolve, reject) => {
          get({ host: '127.0.0.1', port, servername: 'localhost', path: '/', agent }, (res) => {
            const socket = res.socket as TLSSocket;
            const serverSerial = socket.getPeerCertificate().serialNumber;
            let body = '';
            res.setEncoding('utf8').on('data', (c: string) => (body += c));
            res.on('end', () => (res.statusCode === 200 ? resolve({ serverSerial, clientSerial: body, socket }) : reject(new Error(`status ${res.statusCode}`))));
          }).on('error', reject);
        });

      // New connections: the client certificate from the store, no keep-alive, no session
      // resumption (each request is a full handshake).
      const fresh = clientCert.httpsAgent({ ca, keepAlive: false, maxCachedSessions: 0 });
      agents.push(fresh);
      // Long-lived connections: kept alive across every renewal, with a client certificate of their own.
      const own = (await admin.call<{ data: Issued }>('POST', 'pki/issue/web', { common_name: 'reports.example.com', ttl: '10m' })).data;
      const longLived = Array.from({ length: 3 }, () => new Agent({ keepAlive: true, maxSockets: 1, ca, cert: own.certificate, key: own.private_key }));
      agents.push(...longLived);

      const connections: { startedAt: number; serverSerial: string; clientSerial: string }[] = [];
      const kept = longLived.map(() => ({ sockets: new Set<TLSSocket>(), serials: new Set<string>(), requests: 0 }));
      const deadline = Date.now() + 9000;
      // Until two renewals of each certificate have been served to new connections, at most 9 s.
      const enough = () => serverTimeline.entries.length >= 3 && clientTimeline.entries.length >= 3 && connections.at(-1)!.startedAt > Math.max(serverTimeline.entries.at(-1)!.at, clientTimeline.entries.at(-1)!.at);
      let stop = false;
      const workers = [
        ...Array.from({ length: 6 }, async () => {
          while (!stop) {
            const startedAt = Date.now();
            try {
              connections.push({ startedAt, ...(await call(fresh)) });
            } catch (err) {
              failures.push(`new connection: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
            }
          }
        }),
        ...longLived.map(async (agent, i) => {
          while (!stop) {
            try {
              const answer = await call(agent);
              kept[i]!.sockets.add(answer.socket);
              kept[i]!.serials.add(answer.serverSerial);
              kept[i]!.requests += 1;
            } catch (err) {
              failures.push(`long-lived connection: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }),
      ];
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        stop = Date.now() > deadline || (connections.length > 0 && enough());
      }
      await Promise.all(workers);

      expect(failures).toEqual([]);
      expect(connections.length).toBeGreaterThan(200);
      // Renewed at least twice each, and every renewal reached new connections.
      expect(serverTimeline.entries.length).toBeGreaterThanOrEqual(3);
      expect(clientTimeline.entries.length).toBeGreaterThanOrEqual(3);
      const serversSeen = new Set(connections.map((c) => c.serverSerial));
      const clientsSeen = new Set(connections.map((c) => c.clientSerial));
      for (const { serial } of serverTimeline.entries) expect(serversSeen).toContain(serial);
      for (const { serial } of clientTimeline.entries) expect(clientsSeen).toContain(serial);
      // No connection got a certificate older than the one served when it began.
      const stale = connections.filter(
        (c) => serverTimeline.indexOf(c.serverSerial) < serverTimeline.currentAt(c.startedAt) || clientTimeline.indexOf(c.clientSerial) < clientTimeline.currentAt(c.startedAt),
      );
      expect(stale).toEqual([]);
      // The serials the server and the client saw are the store's.
      expect(serverTimeline.entries.at(-1)!.serial).toBe(nodeSerial(store.get('tls').version));
      // Each long-lived connection stayed the one connection, on the certificate it began with.
      for (const k of kept) {
        expect(k.sockets.size).toBe(1);
        expect(k.serials).toEqual(new Set([serverTimeline.entries[0]!.serial]));
        expect(k.requests).toBeGreaterThan(20);
      }
      expect(serverCert.health().status).toBe('ok');
      serverCert.close();
      clientCert.close();
    } finally {
      for (const agent of agents) agent.destroy();
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
      await store.close();
    }
  }, 25_000);
});
