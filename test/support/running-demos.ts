import 'reflect-metadata';
import { SecretStore } from '@keyward/core';
import type { DemoSecrets } from '@keyward/demo-shared';
import { startDemoBackends, type DemoBackends, type DemoBackendsOptions } from '@keyward/demo-shared/backends';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoApp, type DemoApp } from '../../apps/demo-express/src/app.js';
import { AppModule } from '../../apps/demo-nest/src/app.module.js';
import { HttpsService } from '../../apps/demo-nest/src/https.service.js';
import { demoCli } from './demo-cli.js';

/** Both demo services on the Vault backends, served on loopback (HTTP and HTTPS), as `pnpm demo` and `pnpm demo:express` run them. */
export interface RunningDemos {
  readonly backends: DemoBackends;
  readonly express: DemoApp;
  /** `http://127.0.0.1:<port>` of the Express demo. */
  readonly expressBase: string;
  /** `https://127.0.0.1:<port>`: the same Express app over HTTPS, on a certificate from the backends' PKI. */
  readonly expressHttpsBase: string;
  readonly nest: INestApplication;
  readonly nestBase: string;
  readonly nestHttpsBase: string;
  /** The root CA the demos' certificates chain to (PEM): what an HTTPS client trusts. */
  readonly tlsCaPem: string;
  /** The Nest demo's store. */
  readonly nestStore: SecretStore<DemoSecrets>;
  /** The operator's `keyward` CLI on the demos' config. */
  readonly cli: ReturnType<typeof demoCli>;
  /** What each demo logged (the Express demo's lines, Nest's logger's). */
  readonly log: string[];
  readonly nestLog: string[];
  /** Stops the servers, the apps, the backends, and removes the temp folders and the environment variables set. */
  close(): Promise<void>;
}

/**
 * Starts the Vault backends and both demos in this process (the key ring polled every 200 ms:
 * no Redis needed to see the CLI's changes). Call `close()` in `afterAll`, even after a failed start.
 *
 * `env` adds variables for the apps (e.g. `KEYWARD_GITHUB_KEYS_URL`).
 *
 * @example const demos = await runDemos({ credentialsTtl: '2s', credentialsMaxTtl: '4s' });
 */
export async function runDemos(options: DemoBackendsOptions & { readonly env?: Readonly<Record<string, string>> } = {}): Promise<RunningDemos> {
  const { env: extraEnv = {}, ...backendOptions } = options;
  const dirs = [mkdtempSync(join(tmpdir(), 'keyward-demos-')), mkdtempSync(join(tmpdir(), 'keyward-demos-'))] as const;
  const envNames: string[] = [];
  const log: string[] = [];
  const nestLog: string[] = [];
  const toNestLog = (m: unknown) => void nestLog.push(String(m));
  const nestLogger: LoggerService = { log: toNestLog, error: toNestLog, warn: toNestLog, fatal: toNestLog, debug: () => {}, verbose: () => {} };
  let backends: DemoBackends | undefined;
  let express: DemoApp | undefined;
  let expressServer: Server | undefined;
  let nest: INestApplication | undefined;
  let cli: ReturnType<typeof demoCli> | undefined;
  const close = async () => {
    if (expressServer !== undefined) {
      expressServer.closeAllConnections();
      await new Promise((resolve) => expressServer!.close(resolve));
    }
    await express?.close();
    await nest?.close();
    await backends?.stop();
    cli?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    for (const name of envNames) delete process.env[name];
  };
  try {
    backends = await startDemoBackends({ environment: 'test', ...backendOptions });
    // HTTPS on ports of the system's choosing.
    const env = { ...backends.env, KEYWARD_BACKEND: 'vault', KEYWARD_API_KEY_RING_REFRESH: '200ms', DEMO_HTTPS_PORT: '0', ...extraEnv };
    envNames.push(...Object.keys(env));
    Object.assign(process.env, env);
    express = await createDemoApp(join(dirs[0], '.env'), (line) => log.push(line));
    expressServer = createServer(express.app);
    await new Promise<void>((resolve) => expressServer!.listen(0, '127.0.0.1', resolve));
    const expressHttpsPort = await express.https!.listen(0);
    nest = await NestFactory.create(AppModule.forEnvFile(join(dirs[1], '.env')), { logger: nestLogger, abortOnError: false });
    await nest.listen(0, '127.0.0.1');
    cli = demoCli(backends.cliConfig);
    return {
      backends,
      express,
      expressBase: `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`,
      nest,
      expressHttpsBase: `https://127.0.0.1:${expressHttpsPort}`,
      nestBase: `http://127.0.0.1:${(nest.getHttpServer().address() as AddressInfo).port}`,
      nestHttpsBase: `https://127.0.0.1:${nest.get(HttpsService).https!.port}`,
      tlsCaPem: backends.tlsCaPem,
      nestStore: nest.get(SecretStore) as unknown as SecretStore<DemoSecrets>,
      cli,
      log,
      nestLog,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
