import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { envProvider, SecretsUnavailableError, SecretStore } from '@keyward/core';
import { InjectSecret, KeywardModule, type KeywardModuleOptions, type SecretRef } from '@keyward/nestjs';
import { Controller, Get, Inject, Injectable, Module, type DynamicModule, type INestApplication, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';

// A real Nest app over HTTP: secrets loaded before the providers that need them, a live handle
// in a controller that never shows its value, refresh through @nestjs/schedule, close on shutdown.

const canaries: string[] = [];
function canary(): string {
  const value = `canary-${randomBytes(12).toString('hex')}`;
  canaries.push(value);
  return value;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Everything Nest logs, so that it can be scanned for secret values. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(...args: unknown[]) {
    this.lines.push(inspect(args, { depth: 10 }));
  }
  error(...args: unknown[]) {
    this.log(...args);
  }
  warn(...args: unknown[]) {
    this.log(...args);
  }
  debug(...args: unknown[]) {
    this.log(...args);
  }
  verbose(...args: unknown[]) {
    this.log(...args);
  }
  fatal(...args: unknown[]) {
    this.log(...args);
  }
}
const logger = new CapturingLogger();

type Env = Record<string, string>;

function keywardOptions(env: Env): KeywardModuleOptions {
  return {
    app: 'billing',
    environment: 'test',
    providers: { test: envProvider({ env }) },
    secrets: {
      apiToken: { refresh: { interval: 50, jitter: 0 } },
      database: { refresh: false },
      sessionKey: {},
    },
    refresh: { interval: '1h' },
  };
}

/** Stands for @nestjs/config: the settings that forRootAsync reads its options from. */
@Injectable()
class AppConfig {
  constructor(readonly env: Env) {}

  keyward(): KeywardModuleOptions {
    return keywardOptions(this.env);
  }
}

@Module({})
class ConfigModule {
  static register(env: Env): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: new AppConfig(env) }], exports: [AppConfig] };
  }
}

const variants: [string, (env: Env) => DynamicModule][] = [
  ['forRoot', (env) => KeywardModule.forRoot(keywardOptions(env))],
  [
    'forRootAsync',
    (env) =>
      KeywardModule.forRootAsync({
        imports: [ConfigModule.register(env)],
        inject: [AppConfig],
        useFactory: (config: AppConfig) => config.keyward(),
      }),
  ],
];

/** What a database module's factory builds from the credentials while the app starts. */
interface DatabaseClient {
  readonly user: string;
  readonly passwordSha256: string;
}
const DATABASE = 'DATABASE';

@Controller('secret')
class SecretController {
  constructor(
    @InjectSecret('apiToken') private readonly apiToken: SecretRef<string>,
    @Inject(SecretStore) private readonly store: SecretStore,
    @Inject(DATABASE) private readonly database: DatabaseClient,
  ) {}

  @Get()
  show() {
    return {
      apiToken: this.apiToken,
      version: this.apiToken.get().version,
      sha256: sha256(this.apiToken.reveal()),
      status: this.store.health().status,
      database: this.database,
    };
  }
}

@Controller('typo')
class TypoController {
  constructor(@InjectSecret('apiTokn') readonly apiToken: SecretRef<string>) {}
}

function appModule(keyward: DynamicModule, controller: Type = SecretController): Type {
  @Module({
    imports: [keyward],
    controllers: [controller],
    providers: [
      {
        provide: DATABASE,
        inject: [SecretStore],
        // Synchronous on purpose: the store has loaded everything before this factory runs.
        useFactory: (store: SecretStore): DatabaseClient => {
          const { username, password } = store.get('database').reveal() as Record<string, string>;
          return { user: username!, passwordSha256: sha256(password!) };
        },
      },
    ],
  })
  class AppModule {}
  return AppModule;
}

function healthyEnv(): Env {
  return { API_TOKEN: canary(), DATABASE__USERNAME: 'billing', DATABASE__PASSWORD: canary(), SESSION_KEY: canary() };
}

async function startApp(module: Type): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger, abortOnError: false });
  return app.init();
}

async function bootstrapError(module: Type): Promise<unknown> {
  return startApp(module).then(
    async (app) => {
      await app.close();
      throw new Error('the app started');
    },
    (err: unknown) => err,
  );
}

/** Polls `read` until `done` holds, for at most `timeoutMs`. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(variants)('KeywardModule.%s in an Express app', (_, keyward) => {
  it('serves a handle that the response shows redacted, while the controller reveals the value', async () => {
    const env = healthyEnv();
    const app = await startApp(appModule(keyward(env)));
    try {
      const response = await request(app.getHttpServer()).get('/secret').expect(200);
      expect(response.body).toEqual({
        apiToken: '[secret ref apiToken]',
        version: 'v1',
        sha256: sha256(env['API_TOKEN']!),
        status: 'ok',
        database: { user: 'billing', passwordSha256: sha256(env['DATABASE__PASSWORD']!) },
      });
      for (const value of canaries) expect(response.text).not.toContain(value);
    } finally {
      await app.close();
    }
  });

  it('refreshes through SchedulerRegistry and serves the new value', async () => {
    const env = healthyEnv();
    const app = await startApp(appModule(keyward(env)));
    try {
      const intervals = app.get(SchedulerRegistry).getIntervals();
      expect(intervals).toEqual(expect.arrayContaining(['keyward.refresh.apiToken', 'keyward.refresh.sessionKey']));
      expect(intervals).not.toContain('keyward.refresh.database');

      const rotated = canary();
      env['API_TOKEN'] = rotated;
      const server = app.getHttpServer();
      const body = await waitFor(
        async () => (await request(server).get('/secret').expect(200)).body as { sha256: string; version: string },
        (b) => b.sha256 === sha256(rotated),
      );
      expect(body.version).toBe('v2');
    } finally {
      await app.close();
    }
  });

  it('closes the store and removes its intervals when the app closes', async () => {
    const app = await startApp(appModule(keyward(healthyEnv())));
    const store = app.get(SecretStore);
    const registry = app.get(SchedulerRegistry);
    await app.close();
    expect(store.health().status).toBe('down');
    expect(() => store.get('apiToken')).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
    expect(registry.getIntervals().filter((name) => name.startsWith('keyward.'))).toEqual([]);
  });

  it('fails the bootstrap with one error that names every missing secret and quotes no value', async () => {
    const present = canary();
    const error = await bootstrapError(appModule(keyward({ SESSION_KEY: present })));
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    const unavailable = error as SecretsUnavailableError;
    expect(unavailable.code).toBe('SECRETS_UNAVAILABLE');
    expect(unavailable.problems.map((p) => p.secret).sort()).toEqual(['apiToken', 'database']);
    expect(unavailable.message).toContain('apiToken');
    expect(unavailable.message).toContain('database');
    for (const text of [unavailable.message, JSON.stringify(unavailable), inspect(unavailable, { depth: 10 })]) {
      expect(text).not.toContain(present);
    }
  });

  it('fails the bootstrap with SECRET_NOT_DECLARED when a controller injects an undeclared name', async () => {
    const error = await bootstrapError(appModule(keyward(healthyEnv()), TypoController));
    expect(error).toMatchObject({ code: 'SECRET_NOT_DECLARED', secret: 'apiTokn' });
  });
});

// Runs after the apps above (jest keeps declaration order): scans everything Nest logged,
// including the failed bootstraps.
it('never logged a secret value', () => {
  expect(logger.lines.length).toBeGreaterThan(0);
  const logs = logger.lines.join('\n');
  for (const value of canaries) expect(logs).not.toContain(value);
});
