import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseKeyRing, SecretStore } from '@keyward/core';
import type { DemoSecrets } from '@keyward/demo-shared';
import { startDemoBackends, type DemoBackends } from '@keyward/demo-shared/backends';
import { waitFor } from '@keyward/test-support';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { AppModule } from '../apps/demo-nest/src/app.module.js';
import { demoCli } from './support/demo-cli.js';

// Refresh scope, end to end as `pnpm demo` runs it: the payment provider accepts only the key it
// issued last, each rotation writes the new key to Vault KV, and the demos' payment clients
// (`refreshable` in Express, `refreshableProvider` + `@OnSecretRotated` in Nest) are rebuilt from
// the store. Calls keep coming through the rotations over real HTTP on loopback.
describe('demo payments client across rotations of paymentsApiKey (Vault KV)', () => {
  let backends: DemoBackends;
  let express: DemoApp;
  let expressServer: Server;
  let nest: INestApplication;
  let cli: ReturnType<typeof demoCli>;
  let key: string;
  const log: string[] = [];
  const nestLog: string[] = [];
  const dirs = [mkdtempSync(join(tmpdir(), 'keyward-payments-')), mkdtempSync(join(tmpdir(), 'keyward-payments-'))] as const;
  const envNames: string[] = [];
  const nestLogger: LoggerService = { log: (m) => void nestLog.push(String(m)), error: (m) => void nestLog.push(String(m)), warn: (m) => void nestLog.push(String(m)), debug: () => {}, verbose: () => {}, fatal: (m) => void nestLog.push(String(m)) };

  beforeAll(async () => {
    backends = await startDemoBackends({ environment: 'test' });
    const env = { ...backends.env, KEYWARD_BACKEND: 'vault', KEYWARD_API_KEY_RING_REFRESH: '200ms' };
    envNames.push(...Object.keys(env));
    Object.assign(process.env, env);
    express = await createDemoApp(join(dirs[0], '.env'), (line) => log.push(line));
    expressServer = createServer(express.app);
    await new Promise<void>((resolve) => expressServer.listen(0, '127.0.0.1', resolve));
    nest = await NestFactory.create(AppModule.forEnvFile(join(dirs[1], '.env')), { logger: nestLogger, abortOnError: false });
    await nest.listen(0, '127.0.0.1');
    cli = demoCli(backends.cliConfig);
    key = (await cli.run('api-keys', 'create', '--client', 'shop', '--scopes', 'sign')).stdout.trim();
    const holds = (store: SecretStore<DemoSecrets>) => parseKeyRing(store.get('apiKeys').reveal()).keys.some((e) => e.keyId === key.split('_')[2]);
    await waitFor(() => holds(express.store) && holds(nest.get(SecretStore) as unknown as SecretStore<DemoSecrets>), 5000, 'the key in both rings');
  }, 90_000);

  afterAll(async () => {
    if (expressServer !== undefined) {
      expressServer.closeAllConnections();
      await new Promise((resolve) => expressServer.close(resolve));
    }
    await express?.close();
    await nest?.close();
    await backends?.stop();
    cli?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    for (const name of envNames) delete process.env[name];
  });

  it('fails no call while the provider rotates the key five times, on both demos', async () => {
    const bases = [`http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`, `http://127.0.0.1:${(nest.getHttpServer().address() as AddressInfo).port}`];
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
