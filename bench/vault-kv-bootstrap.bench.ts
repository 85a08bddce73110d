// Bootstrap of 200 KV v2 secrets from the Vault dev server with 5 ms added to every reply:
// Keyward's store (vaultKv, bounded parallel reads) against the usual sequential loop of
// node-vault reads. Both go through node-vault to the same server.
import { performance } from 'node:perf_hooks';
import type { SecretDeclarations } from '@keyward/core';
import { startVaultDevServer } from '@keyward/testing';
import { tokenAuth, vaultKv } from '@keyward/vault';
import vault from 'node-vault';
import { compareBootstrap, timeStoreStart } from './report.js';

const SECRETS = 200;
const LATENCY_MS = 5;
const RUNS = 3;
/** The store's default (packages/core/src/store/secret-store.ts). */
const CONCURRENCY = 32;
/** Keyward alone at these too, one line each. */
const SWEEP = [8, 16, 32, 64, 128].filter((c) => c !== CONCURRENCY);

export async function run(): Promise<void> {
  const server = await startVaultDevServer();
  try {
    const names = Array.from({ length: SECRETS }, (_, i) => `secret${i}`);
    for (const name of names) {
      const res = await fetch(`${server.url}/v1/secret/data/bench/bench/${name}`, {
        method: 'POST',
        headers: { 'X-Vault-Token': server.rootToken, 'Content-Type': 'application/json' },
        body: JSON.stringify({ data: { value: `value-of-${name}` } }),
      });
      if (!res.ok) throw new Error(`seeding ${name}: ${res.status}`);
    }
    server.setLatency(LATENCY_MS);
    const declarations: SecretDeclarations = Object.fromEntries(names.map((n) => [n, { refresh: false }]));

    const keyward = async (concurrency: number) => {
      return timeStoreStart(vaultKv({ endpoint: server.url, auth: tokenAuth({ token: server.rootToken }), renewToken: false }), declarations, concurrency);
    };
    const sequential = async () => {
      const start = performance.now();
      const client = vault({ endpoint: server.url, token: server.rootToken });
      const loaded: Record<string, unknown> = {};
      for (const name of names) loaded[name] = (await client.read(`secret/data/bench/bench/${name}`)).data.data;
      return performance.now() - start;
    };

    await compareBootstrap({
      name: 'bootstrap.vault-kv.200-secrets.5ms-latency',
      against: 'sequential node-vault reads (await each in turn)',
      keyward,
      sequential,
      runs: RUNS,
      concurrency: CONCURRENCY,
      secrets: SECRETS,
      latencyMs: LATENCY_MS,
      sweep: SWEEP,
    });
  } finally {
    await server.close();
  }
}
