// Bootstrap of 200 secrets from the Secrets Manager emulator with 20 ms added to every reply:
// Keyward's store (awsSecretsManager, which coalesces the reads in flight into BatchGetSecretValue
// calls of up to 20 ids) against the usual sequential loop of GetSecretValue calls. Both go
// through the real @aws-sdk/client-secrets-manager client to the same emulator.
import { performance } from 'node:perf_hooks';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager } from '@keyward/aws';
import type { SecretDeclarations } from '@keyward/core';
import { startSecretsManagerEmulator } from '@keyward/testing';
import { compareBootstrap, timeStoreStart } from './report.js';

const SECRETS = 200;
const LATENCY_MS = 20;
const RUNS = 3;
/** The store's default (packages/core/src/store/secret-store.ts). */
const CONCURRENCY = 32;
/** BatchGetSecretValue takes at most 20 ids. */
const BATCH_SIZE = 20;
/** Keyward alone at these too, one line each (200: every batch call at once). */
const SWEEP = [8, 16, 32, 64, 128, 200].filter((c) => c !== CONCURRENCY);

export async function run(): Promise<void> {
  const emulator = await startSecretsManagerEmulator();
  const clientOptions = { region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials };
  const names = Array.from({ length: SECRETS }, (_, i) => `secret${i}`);
  const admin = new SecretsManagerClient(clientOptions);
  try {
    for (const name of names) await admin.send(new CreateSecretCommand({ Name: `bench/bench/${name}`, SecretString: `value-of-${name}` }));
    emulator.setLatency(LATENCY_MS);
    const declarations: SecretDeclarations = Object.fromEntries(names.map((n) => [n, { refresh: false }]));

    // What the last Keyward bootstrap sent: calls by operation, and the most batch calls in flight at once.
    let calls = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const keyward = async (concurrency: number) => {
      // A client per bootstrap, as a process starting up has: no connection kept from the run before.
      const client = new SecretsManagerClient(clientOptions);
      calls = new Map();
      inFlight = 0;
      maxInFlight = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const operation = String(context.commandName).replace(/Command$/, '');
          calls.set(operation, (calls.get(operation) ?? 0) + 1);
          if (operation !== 'BatchGetSecretValue') return next(args);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            return await next(args);
          } finally {
            inFlight--;
          }
        },
        { step: 'initialize', name: 'countCalls' },
      );
      try {
        return await timeStoreStart(awsSecretsManager({ client }), declarations, concurrency);
      } finally {
        client.destroy();
      }
    };
    const sequential = async () => {
      const client = new SecretsManagerClient(clientOptions);
      try {
        const start = performance.now();
        const loaded: Record<string, unknown> = {};
        for (const name of names) loaded[name] = (await client.send(new GetSecretValueCommand({ SecretId: `bench/bench/${name}` }))).SecretString;
        return performance.now() - start;
      } finally {
        client.destroy();
      }
    };

    await compareBootstrap({
      name: 'bootstrap.aws-secrets-manager.200-secrets.20ms-latency',
      against: 'sequential GetSecretValue calls with @aws-sdk/client-secrets-manager (await each in turn)',
      keyward,
      sequential,
      runs: RUNS,
      concurrency: CONCURRENCY,
      secrets: SECRETS,
      latencyMs: LATENCY_MS,
      batchSize: BATCH_SIZE,
      observed: () => ({
        batchCalls: calls.get('BatchGetSecretValue') ?? 0,
        getSecretValueCalls: calls.get('GetSecretValue') ?? 0,
        maxBatchCallsInFlight: maxInFlight,
      }),
      sweep: SWEEP,
    });
  } finally {
    admin.destroy();
    await emulator.close();
  }
}
