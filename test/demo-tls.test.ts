import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SecretRotatedEvent, SecretStore, TlsFromSecretEvents } from '@keyward/core';
import { nextEvent } from '@keyward/test-support';
import { Agent, get } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { HttpsService } from '../apps/demo-nest/src/https.service.js';
import { runDemos, type RunningDemos } from './support/running-demos.js';

type Updated = TlsFromSecretEvents['updated'][0];
type TlsInfo = { serial: string; notAfter: string; version: string };
interface Answer {
  readonly status: number;
  readonly text: string;
  /** The serial of the certificate the server presented on this connection. */
  readonly peerSerial: string;
  /** Whether the request went on a connection opened before (keep-alive). */
  readonly reused: boolean;
}

/** GET over HTTPS through `agent`: the answer and the certificate the connection was made with. */
function httpsGet(url: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      const peerSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, peerSerial, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error(`no answer from ${url} within 3 s`)));
  });
}

/** The base64 body of a PEM: what must never show up in a log line or an answer. */
const pemBody = (pem: string): string => pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----')).join('');

// Certificates from Vault's PKI engine, served over HTTPS by both demos as `pnpm demo` runs them,
// with a 4 s lifetime: the store reissues at ~2/3 of it and `tlsFromSecret` swaps the new one into
// the HTTPS servers. Real TLS on loopback, through clients that trust only the demo's root CA.
describe('demo HTTPS on certificates from Vault PKI, swapped live', () => {
  let demos: RunningDemos;
  /** Every private key and certificate the stores held during the test: none may show. */
  const issued = new Set<string>();
  const agents: Agent[] = [];
  const keep = (value: unknown) => {
    const { private_key, certificate } = value as { private_key: string; certificate: string };
    issued.add(pemBody(private_key)).add(pemBody(certificate));
  };
  /** An agent that trusts the demo's root CA only (`ca` replaces Node's root store). */
  const trusting = (keepAlive: boolean): Agent => {
    const agent = new Agent({ ca: demos.tlsCaPem, keepAlive, maxSockets: 1 });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    demos = await runDemos({ tlsTtl: '4s' });
    // `tls` is declared on the Vault backend only, outside DemoSecrets.
    for (const store of [demos.express.store, demos.nestStore] as unknown as SecretStore[]) {
      keep(store.get('tls').reveal());
      store.on('rotated', (e) => e.name === 'tls' && keep(e.current.reveal()));
    }
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) agent.destroy();
    await demos?.close();
  }, 30_000);

  const cases = () => [
    { demo: 'express', base: demos.expressBase, httpsBase: demos.expressHttpsBase, cert: demos.express.https!.cert, log: demos.log, health: (body: any) => body.checks },
    { demo: 'nest', base: demos.nestBase, httpsBase: demos.nestHttpsBase, cert: demos.nest.get(HttpsService).https!.cert, log: demos.nestLog, health: (body: any) => body.info.keyward.checks },
  ];

  it('serves each demo over HTTPS with a certificate for 127.0.0.1 from the demo CA, the one GET /tls names, and reports it in /health', async () => {
    for (const { demo, base, httpsBase, cert } of cases()) {
      // Just after a swap, so that no other comes between the calls below.
      await nextEvent<Updated>(cert, 'updated', 8000);
      const answer = await httpsGet(`${httpsBase}/tls`, trusting(false));
      const overHttps = JSON.parse(answer.text) as TlsInfo;
      const overHttp = (await (await fetch(`${base}/tls`)).json()) as TlsInfo;
      expect({ demo, status: answer.status }).toEqual({ demo, status: 200 });
      expect(answer.peerSerial).toBe(overHttp.serial);
      expect(overHttps).toEqual(overHttp);
      expect(Object.keys(overHttp).sort()).toEqual(['notAfter', 'serial', 'version']);
      expect(Date.parse(overHttp.notAfter) - Date.now()).toBeLessThanOrEqual(5000);

      const health = await httpsGet(`${httpsBase}/health`, trusting(false));
      expect(health.status).toBe(200);
      const checks = cases().find((c) => c.demo === demo)!.health(JSON.parse(health.text));
      expect(checks.tls.https).toMatchObject({ status: 'ok', certificate: { serial: overHttp.serial, subject: 'CN=localhost' } });
      for (const body of issued) expect(health.text).not.toContain(body);
      // Its time to expiry and its swaps on /metrics, for an expiry alert.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^keyward_tls_certificate_remaining_seconds\{keyward_tls_name="https",[^}]*\} \d/m);
      expect(metrics).toMatch(/^keyward_tls_certificate_changes_total\{keyward_tls_name="https",keyward_tls_outcome="updated",[^}]*\} [1-9]/m);
    }
    // A client on Node's usual roots does not trust the demo's certificate.
    await expect(httpsGet(`${demos.nestHttpsBase}/tls`, new Agent({ keepAlive: false }))).rejects.toMatchObject({ code: expect.stringMatching(/CERT|VERIFY|SIGNATURE/) });
  }, 20_000);

  it('gives new connections the reissued certificate while a keep-alive connection opened before still answers, on both demos', async () => {
    await Promise.all(
      cases().map(async ({ demo, base, httpsBase, cert, log }) => {
        await nextEvent<Updated>(cert, 'updated', 8000);
        const kept = trusting(true);
        const before = await httpsGet(`${httpsBase}/tls`, kept);
        const old = (JSON.parse(before.text) as TlsInfo).serial;
        expect(before.peerSerial).toBe(old);

        // The store reissues the certificate (a new serial), and the HTTPS server takes it.
        const rotated = nextEvent<SecretRotatedEvent>(demo === 'nest' ? demos.nestStore : demos.express.store, 'rotated', 8000, (e) => e.name === 'tls');
        const updated = await nextEvent<Updated>(cert, 'updated', 8000);
        expect((await rotated).current.version).toBe(updated.version);
        expect(updated.serial).not.toBe(old);
        expect(updated.previous).toBe((JSON.parse(before.text) as TlsInfo).version);

        const fresh = await httpsGet(`${httpsBase}/tls`, trusting(false));
        expect({ demo, peer: fresh.peerSerial, served: (JSON.parse(fresh.text) as TlsInfo).serial }).toEqual({ demo, peer: updated.serial, served: updated.serial });
        expect(((await (await fetch(`${base}/tls`)).json()) as TlsInfo).serial).toBe(updated.serial);

        // The connection opened before keeps its certificate, and still answers.
        const again = await httpsGet(`${httpsBase}/tls`, kept);
        expect({ demo, status: again.status, reused: again.reused, peer: again.peerSerial }).toEqual({ demo, status: 200, reused: true, peer: old });
        expect((JSON.parse(again.text) as TlsInfo).serial).toBe(updated.serial);

        // The swap is logged by serial, never with the PEM.
        expect(log.some((l) => l.startsWith(`tls certificate updated: serial ${updated.serial} `))).toBe(true);
      }),
    );
  }, 20_000);

  it('never shows a private key or a certificate in the logs or the answers', async () => {
    const answers = await Promise.all(
      [demos.expressHttpsBase, demos.nestHttpsBase].flatMap((base) => ['/tls', '/health'].map(async (path) => (await httpsGet(`${base}${path}`, trusting(false))).text)),
    );
    const shown = [...demos.log, ...demos.nestLog, ...answers].join('\n');
    expect(issued.size).toBeGreaterThanOrEqual(8);
    expect(shown).not.toContain('-----BEGIN');
    for (const body of issued) expect(shown).not.toContain(body);
  });
});
