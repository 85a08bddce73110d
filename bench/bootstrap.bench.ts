// Bootstrap of 200 secrets from a provider that takes 20 ms a read: Keyward's parallel,
// bounded load against the usual hand-written loader that awaits one secret after another.
import { performance } from 'node:perf_hooks';
import type { SecretDeclarations, SecretProvider, SecretRef } from '@keyward/core';
import { compareBootstrap, timeStoreStart } from './report.js';

const SECRETS = 200;
const LATENCY_MS = 20;
const RUNS = 3;
/** The store's default (packages/core/src/store/secret-store.ts). */
const CONCURRENCY = 32;
/** Keyward alone at these too, one line each (a few runs: about 1.5 s in all). */
const SWEEP = [8, 16, 32, 64, 128].filter((c) => c !== CONCURRENCY);

const provider: SecretProvider = {
  kind: 'slow-memory',
  locate: (ref) => `memory:${ref.path}`,
  read: (ref) => new Promise((resolve) => setTimeout(() => resolve({ value: `value-of-${ref.name}` }), LATENCY_MS)),
};
const names = Array.from({ length: SECRETS }, (_, i) => `secret${i}`);
const declarations: SecretDeclarations = Object.fromEntries(names.map((n) => [n, { refresh: false }]));

const keyward = (concurrency: number) => timeStoreStart(provider, declarations, concurrency);

async function sequential(): Promise<number> {
  const start = performance.now();
  const loaded: Record<string, unknown> = {};
  for (const name of names) {
    const ref: SecretRef = { name, path: `bench/bench/${name}`, app: 'bench', environment: 'bench' };
    loaded[name] = ((await provider.read(ref, { signal: AbortSignal.timeout(10_000) })) as { value: unknown }).value;
  }
  return performance.now() - start;
}

export async function run(): Promise<void> {
  await compareBootstrap({
    name: 'bootstrap.200-secrets.20ms-latency',
    against: 'sequential hand-written loader (await each read in turn)',
    keyward,
    sequential,
    runs: RUNS,
    concurrency: CONCURRENCY,
    secrets: SECRETS,
    latencyMs: LATENCY_MS,
    sweep: SWEEP,
  });
}
