import { KeywardModule } from '@keyward/nestjs';
import { KeywardHealthIndicator } from '@keyward/nestjs/terminus';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApiKeysService } from './api-keys.service.js';
import { DatabaseService } from './database.service.js';
import { DemoController } from './demo.controller.js';
import { HealthController } from './health.controller.js';
import { HttpsService } from './https.service.js';
import { MetricsController } from './metrics.controller.js';
import { PaymentsController, paymentsClientProvider } from './payments.controller.js';
import { operatorViewSources } from './operator-views.provider.js';
import { RotationLogService } from './rotation-log.service.js';
import { PartnerWebhooksController } from './partner-webhooks.controller.js';
import { StatusController } from './status.controller.js';
import { TlsController } from './tls.controller.js';
import { demoAuditFile, demoKek, demoStoreOptions, isOperatorRequest } from '@keyward/demo-shared';

/** The demo's root module; `envFile` is the `.env` read in development. */
@Module({})
export class AppModule {
  static forEnvFile(envFile: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // GET /health: the store and the audit trail as one terminus indicator.
        TerminusModule,
        KeywardModule.forRoot({
          ...demoStoreOptions(envFile),
          isGlobal: true,
          // Every route needs an API key unless @Public(); scopes come from @RequireScopes().
          apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
          // A record per request (route, principal, secrets read) and per store event, in logs/audit.jsonl;
          // not the status page and metrics, which are polled all day.
          audit: { key: 'auditKey', service: 'demo-nest', file: demoAuditFile(envFile), skip: isOperatorRequest },
          // Envelope encryption for fields at rest, on the backend's KEK (transit, KMS, or a local key set on .env).
          envelope: { kek: (store) => demoKek(store) },
        }),
      ],
      controllers: [DemoController, HealthController, PartnerWebhooksController, PaymentsController, StatusController, MetricsController, TlsController],
      // The module registers KeywardExceptionFilter with the guard: Keyward errors answer with stable codes.
      providers: [RotationLogService, DatabaseService, ApiKeysService, KeywardHealthIndicator, operatorViewSources, paymentsClientProvider, HttpsService],
    };
  }
}
