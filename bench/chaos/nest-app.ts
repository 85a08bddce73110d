// The Nest app under test: the same store, pool, routes and answers as express-app.ts, built the
// way apps/demo-nest builds itself (KeywardModule.forRoot with apiKeys and audit, a global guard,
// @AuditFailClosed on the signing route, health through @nestjs/terminus).
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auditPool, SecretStore, type AuditTrail } from '@keyward/core';
import { demoStoreOptions, type DemoSecrets } from '@keyward/demo-shared';
import { AuditFailClosed, InjectSecret, KEYWARD_AUDIT_TRAIL, KeywardModule, Public, RequireScopes, type SecretRef } from '@keyward/nestjs';
import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
import { KeywardPgPool } from '@keyward/pg';
import { Controller, Get, Inject, Injectable, Module, Param, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ENVIRONMENT, SCOPE } from './backends.js';
import { chaosPool, signatureOf, type ChaosApp, type ChaosAppOptions } from './express-app.js';

/**
 * The Keyward pool, built once the store has loaded. Closed at application shutdown, which Nest
 * runs after the HTTP server has closed: in `onModuleDestroy` (as apps/demo-nest's
 * DatabaseService does) it would close before the server stops, under requests still in flight.
 */
@Injectable()
class ChaosDatabase implements OnApplicationShutdown {
  readonly pool: KeywardPgPool;
  readonly #stopAudit: () => void;

  constructor(@Inject(SecretStore) store: SecretStore, @Inject(KEYWARD_AUDIT_TRAIL) trail: AuditTrail, @Inject('CHAOS_ENV') env: Record<string, string>) {
    this.pool = chaosPool(store as unknown as SecretStore<DemoSecrets>, env);
    this.#stopAudit = auditPool(trail, this.pool, 'database');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => {});
    this.#stopAudit();
  }
}

@Controller()
class ChaosController {
  constructor(
    @InjectSecret('sessionSecret') private readonly sessionSecret: SecretRef<string>,
    @Inject(ChaosDatabase) private readonly database: ChaosDatabase,
  ) {}

  @RequireScopes(SCOPE)
  @Get('secret/:n')
  secret(@Param('n') n: string) {
    return { n, signature: signatureOf(this.sessionSecret.reveal(), n) };
  }

  @RequireScopes(SCOPE)
  @Get('db/:n')
  async db(@Param('n') n: string) {
    const { rows } = await this.database.pool.query<{ v: number }>('SELECT $1::int * 2 AS v', [Number(n)]);
    return { n, v: rows[0]?.v };
  }

  @AuditFailClosed()
  @RequireScopes(SCOPE)
  @Get('sign/:n')
  sign(@Param('n') n: string) {
    return { n, signature: signatureOf(this.sessionSecret.reveal(), n) };
  }
}

@Controller('health')
class ChaosHealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(KeywardHealthIndicator) private readonly keyward: KeywardHealthIndicator,
    @Inject(ChaosDatabase) private readonly database: ChaosDatabase,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.keyward.isHealthy('keyward', { pools: { database: this.database.pool } })]);
  }
}

function chaosModule(options: ChaosAppOptions) {
  const storeOptions = demoStoreOptions('/nonexistent/.env', { ...options.env });
  @Module({
    imports: [
      TerminusModule,
      KeywardModule.forRoot({
        ...storeOptions,
        environment: ENVIRONMENT,
        refresh: { interval: '10s', jitter: 0.1 },
        isGlobal: true,
        apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
        audit: { key: 'auditKey', service: 'chaos-nest', ...(options.transports === undefined ? { file: options.auditFile } : { transports: options.transports }) },
      }),
    ],
    controllers: [ChaosController, ChaosHealthController],
    providers: [{ provide: 'CHAOS_ENV', useValue: options.env }, ChaosDatabase, KeywardHealthIndicator],
  })
  class ChaosModule {}
  return ChaosModule;
}

/** Starts the Nest chaos app on 127.0.0.1; `shutdownHooks` for the child process that gets SIGTERM. */
export async function startNestChaosApp(options: ChaosAppOptions, shutdownHooks = false): Promise<ChaosApp & { readonly app: INestApplication }> {
  const app = await NestFactory.create(chaosModule(options), { logger: false });
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  if (shutdownHooks) app.enableShutdownHooks();
  await app.listen(options.port ?? 0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store: app.get(SecretStore) as unknown as SecretStore<DemoSecrets>,
    trail: app.get<AuditTrail>(KEYWARD_AUDIT_TRAIL),
    pool: app.get(ChaosDatabase).pool,
    server,
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await app.close();
      })();
      return closing;
    },
  };
}
