// What serving TLS from a secret costs: full TLS handshakes per second on two https servers side
// by side in one process, each answering one request per connection:
//   - bare:    https.createServer({ cert, key }) with a certificate that never changes;
//   - keyward: tlsFromSecret(store, 'tls').attach(https.createServer(...)), the store's certificate
//              rotated every SWAP_EVERY_MS during the load (each new one checked, then swapped in
//              with setSecureContext).
// The certificates are ECDSA P-256, issued by the Vault dev server's PKI engine. The client runs in a
// worker thread: CLIENTS loops, each opening a new connection per request (no keep-alive, no TLS
// session resumption: every request is a full handshake, which is what a swap could break). Bare
// and keyward run interleaved, ROUNDS times in ABBA order; medians are reported, the ratio is the
// median of the rounds' ratios with their spread. Every request must succeed.
// Then: the time to take one new certificate (check key, validity and chain, build the context,
// swap it into the server), median of SWAP_SAMPLES.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SecretStore, tlsFromSecret, type SecretProvider } from '@keyward/core';
import { mountPkiEngine, startVaultDevServer } from '@keyward/testing';
import { median, report, round } from './report.js';

const CLIENTS = 16;
const WARMUP_MS = 500;
const DURATION_MS = 2000;
const ROUNDS = 8; // even: as many bare-first rounds as keyward-first ones
const SWAP_EVERY_MS = 200;
const CERTIFICATES = 12;
const SWAP_SAMPLES = 41;

type Issued = { certificate: string; private_key: string; issuing_ca: string; serial_number: string };

/** The client side, in a worker: CLIENTS loops of connect, GET, close, for `ms`; counts and failures. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const https = require('node:https');
const { port, ca, clients, ms } = workerData;
const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
let ok = 0, failed = 0;
const end = Date.now() + ms;
const one = () => new Promise((resolve) => {
  https.get({ host: '127.0.0.1', port, servername: 'localhost', ca, agent, path: '/' }, (res) => {
    res.resume();
    res.on('end', () => { res.statusCode === 200 ? ok++ : failed++; resolve(); });
  }).on('error', () => { failed++; resolve(); });
});
const loop = async () => { while (Date.now() < end) await one(); };
Promise.all(Array.from({ length: clients }, loop)).then(() => parentPort.postMessage({ ok, failed }));
`;

function load(port: number, ca: string, ms: number): Promise<{ ok: number; failed: number }> {
  const worker = new Worker(CLIENT, { eval: true, workerData: { port, ca, clients: CLIENTS, ms } });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { ok: number; failed: number }) => void worker.terminate().then(() => resolve(m)));
    worker.once('error', reject);
  });
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export async function run(): Promise<void> {
  const vault = await startVaultDevServer();
  let store: SecretStore | undefined;
  const servers: Server[] = [];
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${vault.url}/v1/${path}`, { method, headers: { 'X-Vault-Token': vault.rootToken }, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
      return res.status === 204 ? undefined : ((await res.json()) as { data: Issued });
    };
    const { caPem: ca } = await mountPkiEngine(vault, { roles: { web: {} } });
    const certs: Issued[] = [];
    for (let i = 0; i < CERTIFICATES; i++) certs.push((await call('POST', 'pki/issue/web', { common_name: 'localhost', ip_sans: '127.0.0.1', ttl: '1h' }))!.data);

    let next = 0;
    const provider: SecretProvider = { kind: 'memory', locate: () => 'memory:tls', read: async () => ({ value: certs[next % certs.length]!, version: String(next) }) };
    store = await new SecretStore({ app: 'bench', environment: 'bench', providers: { bench: provider }, secrets: { tls: {} }, refresh: false }).start();
    const cert = tlsFromSecret(store, 'tls');
    const answer = (_req: unknown, res: { end(text: string): void }) => res.end('ok');
    const bare = createServer({ cert: certs[0]!.certificate, key: certs[0]!.private_key }, answer);
    const keyward = cert.attach(createServer(cert.options(), answer));
    servers.push(bare, keyward);
    const ports = { bare: await listen(bare), keyward: await listen(keyward) };
    let swaps = 0;
    const rotate = async () => {
      next += 1;
      await store!.refresh('tls');
      swaps += 1;
    };

    const rates = { bare: [] as number[], keyward: [] as number[] };
    const ratios: number[] = [];
    let failed = 0;
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      const order = round_ % 2 === 0 ? (['bare', 'keyward'] as const) : (['keyward', 'bare'] as const);
      const rate: Record<string, number> = {};
      for (const side of order) {
        await load(ports[side], ca, WARMUP_MS);
        const timer = side === 'keyward' ? setInterval(() => void rotate(), SWAP_EVERY_MS) : undefined;
        const result = await load(ports[side], ca, DURATION_MS);
        clearInterval(timer);
        failed += result.failed;
        rate[side] = result.ok / (DURATION_MS / 1000);
        rates[side].push(rate[side]);
      }
      ratios.push(rate['keyward']! / rate['bare']!);
    }
    if (failed > 0) throw new Error(`${failed} requests failed during the TLS bench`);
    report({
      name: 'tls.handshakes-per-second',
      unit: 'connections/s',
      value: round(median(rates.keyward)),
      comparison: {
        against: 'bare https.createServer with a fixed certificate',
        bare: round(median(rates.bare)),
        ratio: round(median(ratios), 3),
        ratioRange: [round(Math.min(...ratios), 3), round(Math.max(...ratios), 3)],
        swapEveryMs: SWAP_EVERY_MS,
        swaps,
        clients: CLIENTS,
        rounds: ROUNDS,
        failed,
        keyType: 'ec P-256',
      },
    });

    // One swap: the store's rotated event, the checks, the new context, setSecureContext.
    const times: number[] = [];
    for (let i = 0; i < SWAP_SAMPLES; i++) {
      const updated = once(cert, 'updated');
      const start = performance.now();
      await rotate();
      await updated;
      times.push(performance.now() - start);
    }
    report({
      name: 'tls.swap',
      unit: 'ms',
      value: round(median(times), 2),
      comparison: { what: 'store refresh of an in-memory TLS secret + checks + createSecureContext + setSecureContext', samples: SWAP_SAMPLES, p90: round([...times].sort((a, b) => a - b)[Math.floor(times.length * 0.9)]!, 2) },
    });
    cert.close();
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await store?.close();
    await vault.close();
  }
}
