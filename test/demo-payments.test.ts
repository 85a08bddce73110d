import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseKeyRing, type SecretStore } from '@keyward/core';
import type { DemoSecrets } from '@keyward/demo-shared';
import { waitFor } from '@keyward/test-support';
import { runDemos, type RunningDemos } from './support/running-demos.js';

// Refresh scope, end to end as `pnpm demo` runs it: the payment provider accepts only the key it
// issued last, each rotation writes the new key to Vault KV, and the demos' payment clients
// (`refreshable` in Express, `refreshableProvider` + `@OnSecretRotated` in Nest) are rebuilt from
// the store. Calls keep coming through the rotations over real HTTP on loopback.
describe('demo payments client across rotations of paymentsApiKey (Vault KV)', () => {
  let demos: RunningDemos;
  let key: string;

  beforeAll(async () => {
    demos = await runDemos();
    key = (await demos.cli.run('api-keys', 'create', '--client', 'shop', '--scopes', 'sign')).stdout.trim();
    const holds = (store: SecretStore<DemoSecrets>) => parseKeyRing(store.get('apiKeys').reveal()).keys.some((e) => e.keyId === key.split('_')[2]);
    await waitFor(() => holds(demos.express.store) && holds(demos.nestStore), 5000, 'the key in both rings');
  }, 90_000);

  afterAll(() => demos?.close(), 30_000);

  it('fails no call while the provider rotates the key five times, on both demos', async () => {
    const { backends, express, log, nestLog } = demos;
    const bases = [demos.expressBase, demos.nestBase];
    const answers = { ok: 0, failed: [] as string[], versions: new Set<string>() };
    let stop = false;
    const worker = async (base: string) => {
      while (!stop) {
        const res = await fetch(`${base}/payments/ping`, { headers: { 'x-api-key': key } });
        const body = (await res.json()) as { status?: string; keyVersion?: string };
        if (res.status === 200 && body.status === 'ok') {
          answers.ok += 1;
          answers.versions.add(body.keyVersion!);
        } else {
          answers.failed.push(`${base} ${res.status} ${JSON.stringify(body)}`);
        }
      }
    };
    const workers = bases.flatMap((base) => Array.from({ length: 4 }, () => worker(base)));
    const refusedBefore = backends.payments.refused;
    const versions: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      versions.push(await backends.rotatePaymentsKey());
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(workers);

    expect(answers.failed).toEqual([]);
    expect(answers.ok).toBeGreaterThan(100);
    // The provider did refuse old keys (calls made before the store had read the new one): each was retried on the rebuilt client.
    expect(backends.payments.refused).toBeGreaterThan(refusedBefore);
    // The last calls were served by the newest key (KV version), through rebuilt clients on both demos.
    expect(answers.versions).toContain(`v${versions.at(-1)}`);
    expect(log.filter((l) => l.startsWith('payments client rebuilt for paymentsApiKey@')).length).toBeGreaterThanOrEqual(5);
    expect(nestLog.filter((l) => l.startsWith('payments key rotated: [secret paymentsApiKey@')).length).toBeGreaterThanOrEqual(5);
    // Never the key itself, in a log line or an answer.
    const current = express.store.get('paymentsApiKey').reveal();
    expect([...log, ...nestLog].join('\n')).not.toContain(current);
  });
});
