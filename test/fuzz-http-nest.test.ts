import { afterAll, beforeAll } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditTrail, type VerifiedApiKey } from '@keyward/core';
import { ApiKeyPrincipal, InjectSecret, KEYWARD_AUDIT_TRAIL, KeywardModule, Public, RequireScopes, type SecretRef } from '@keyward/nestjs';
import { canary, memoryProvider } from '@keyward/test-support';
import { Controller, Get, Header, Module, Param, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { captureConsole, describeFuzzedApp } from './support/fuzz-suite.js';
import { fuzzKeyRing, secretParts } from './support/fuzz-http.js';
import { FuzzOracle } from './support/fuzz-oracle.js';
import { AuditFileTail } from './support/raw-http.js';

// NestJS 12 with KeywardModule.forRoot({ apiKeys, audit }) (the global ApiKeyGuard, the audit
// middleware and interceptor, KeywardExceptionFilter), on a real socket, fed raw bytes (see
// test/support/fuzz-http.ts for the requests, fuzz-oracle.ts for the properties). Random on
// every run; fast-check prints the seed and the request when one fails.

const PEPPER = canary('pepper');
const AUDIT_KEY = `${canary('audit')}-${canary('key')}`;
const STRIPE = canary('stripe');
const DB_PASSWORD = canary('password');
const keys = fuzzKeyRing(PEPPER);

const logged: string[] = [];
/** Nest's logger for the app: every line it would print (errors with their stacks included). */
const logger: LoggerService = {
  log: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  error: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  debug: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  verbose: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
  fatal: (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
};

@RequireScopes('orders:read')
@Controller('orders')
class OrdersController {
  constructor(
    @InjectSecret('stripeKey') private readonly stripe: SecretRef<string>,
    @InjectSecret('database') private readonly database: SecretRef<unknown>,
  ) {}

  @Get(':id')
  @Header('X-Handler', 'orders')
  get(@Param('id') id: string, @ApiKeyPrincipal() principal: VerifiedApiKey) {
    // The SecretRef itself in the body: it serialises redacted.
    return { id, client: principal.client, stripe: this.stripe.reveal().length, database: this.database };
  }
}

@Controller()
class OtherController {
  @RequireScopes('admin')
  @Get('admin')
  @Header('X-Handler', 'admin')
  admin() {
    return { ok: true };
  }

  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }
}

let dir: string;
let file: string;
let app: INestApplication;
let trail: AuditTrail;
let oracle: FuzzOracle;
let tail: AuditFileTail;
const restoreConsole = captureConsole(logged);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-fuzz-nest-'));
  file = join(dir, 'audit.jsonl');
  const provider = memoryProvider({ auditKey: AUDIT_KEY, apiKeys: keys.ring, apiKeyPepper: PEPPER, stripeKey: STRIPE, database: { username: 'app', password: DB_PASSWORD } });
  Object.assign(provider.versions, { auditKey: 'k1', apiKeys: 'r1', apiKeyPepper: 'p1', stripeKey: 'v3', database: 'v2' });

  @Module({
    imports: [
      KeywardModule.forRoot({
        app: 'billing',
        environment: 'test',
        providers: { test: provider },
        secrets: { auditKey: {}, apiKeys: {}, apiKeyPepper: {}, stripeKey: {}, database: {} },
        refresh: false,
        apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
        audit: { key: 'auditKey', file },
      }),
    ],
    controllers: [OrdersController, OtherController],
  })
  class AppModule {}

  app = await NestFactory.create(AppModule, { logger });
  await app.listen(0, '127.0.0.1');
  trail = app.get<AuditTrail>(KEYWARD_AUDIT_TRAIL);
  tail = new AuditFileTail(file, () => trail.health().pending === 0);
  oracle = new FuzzOracle({
    port: (app.getHttpServer().address() as AddressInfo).port,
    audit: tail,
    logs: () => logged.join('\n'),
    canaries: [STRIPE, DB_PASSWORD, PEPPER, AUDIT_KEY, ...secretParts(keys), ...keys.ring.keys.map((k) => k.hmac)],
  });
});

afterAll(async () => {
  await app?.close();
  restoreConsole();
  await rm(dir, { recursive: true, force: true });
});

describeFuzzedApp('NestJS over raw HTTP: hostile requests', keys, () => ({ oracle, tail, file, auditKey: AUDIT_KEY }));
