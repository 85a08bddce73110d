// Memory: heap and RSS of an Express app with API keys and audit records on, after a warm-up and
// again after 100,000 more requests (growth beyond warm-up is what a leak would show), and the
// store's heap per 1,000 declared secrets. Measured after a full GC each time.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createApiKey, createApiKeyVerifier, createAuditTrail, emptyKeyRing, SecretStore, type SecretDeclarations, type SecretProvider } from '@keyward/core';
import { auditRequests, requireApiKey } from '@keyward/express';
import express from 'express';
import { autocannon } from './http-load.js';
import { report, round } from './report.js';

const WARMUP_REQUESTS = 20_000;
const REQUESTS = 100_000;
const SECRETS = 1000;
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and RSS after a full collection (twice: weak callbacks run between the two). */
async function settled(): Promise<{ heap: number; rss: number }> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

async function send(url: string, key: string, amount: number): Promise<void> {
  const result = await autocannon({ url, connections: 32, duration: 600, amount, headers: { 'x-api-key': key }, workers: 1 });
  if (result.errors !== 0 || result.non2xx !== 0) throw new Error(`memory bench: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
}

export async function run(): Promise<void> {
  const pepper = randomBytes(32).toString('hex');
  let ring = emptyKeyRing();
  let key = '';
  for (let i = 0; i < 1000; i++) {
    const created = createApiKey(ring, { client: `client-${i}`, env: 'live', scopes: ['reports:read'], pepper });
    ring = created.ring;
    if (i === 500) key = created.key;
  }
  const dir = await mkdtemp(join(tmpdir(), 'keyward-memory-bench-'));
  const file = join(dir, 'audit.jsonl');
  const trail = await createAuditTrail({ key: randomBytes(32), service: 'bench', file });
  const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => pepper });
  const app = express();
  app.use(auditRequests(trail));
  app.get('/reports', requireApiKey({ verifier, scopes: ['reports:read'] }), (_req, res) => {
    res.json({ ok: true });
  });
  const server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reports`;
  try {
    await send(url, key, WARMUP_REQUESTS);
    const warm = await settled();
    await send(url, key, REQUESTS);
    const after = await settled();
    const records = (await readFile(file, 'utf8')).split('\n').filter((line) => line.includes('"http.request"')).length;
    const setup = { warmupRequests: WARMUP_REQUESTS, requests: REQUESTS, auditRecords: records, features: 'requireApiKey (1000-key ring) + auditRequests (file)', limitMB: 10 };
    report({ name: 'memory.http.heap-growth', unit: 'MB', value: round((after.heap - warm.heap) / MB, 2), comparison: { against: 'heap after warm-up (full GC both times)', warmHeapMB: round(warm.heap / MB, 1), afterHeapMB: round(after.heap / MB, 1), ...setup } });
    report({ name: 'memory.http.rss-growth', unit: 'MB', value: round((after.rss - warm.rss) / MB, 2), comparison: { against: "RSS after warm-up (the whole process, autocannon's worker thread included)", warmRssMB: round(warm.rss / MB, 1), afterRssMB: round(after.rss / MB, 1), ...setup } });
  } finally {
    server.closeAllConnections();
    server.close();
    await trail.close();
    await rm(dir, { recursive: true, force: true });
  }

  // The store's own heap per 1,000 declared secrets (32-byte values, one provider in memory).
  const provider: SecretProvider = { kind: 'memory', locate: (ref) => `memory:${ref.path}`, read: async () => ({ value: randomBytes(32).toString('hex'), version: 'v1' }) };
  const secrets: SecretDeclarations = Object.fromEntries(Array.from({ length: SECRETS }, (_, i) => [`secret${i}`, { refresh: false }]));
  const before = await settled();
  const store = await new SecretStore({ app: 'bench', environment: 'bench', providers: { bench: provider }, secrets }).start();
  const loaded = await settled();
  report({
    name: 'memory.store.heap-per-1000-secrets',
    unit: 'MB',
    value: round(((loaded.heap - before.heap) / MB) * (1000 / SECRETS), 2),
    comparison: { against: 'heap before the store was made (full GC both times)', secrets: SECRETS, valueBytes: 64, perSecretBytes: Math.round((loaded.heap - before.heap) / SECRETS) },
  });
  await store.close();
}
