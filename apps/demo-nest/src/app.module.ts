import { KeywardModule } from '@keyward/nestjs';
import { Module, type DynamicModule } from '@nestjs/common';
import { ApiKeysService } from './api-keys.service.js';
import { DatabaseService } from './database.service.js';
import { DemoController } from './demo.controller.js';
import { RotationLogService } from './rotation-log.service.js';
import { demoStoreOptions } from '@keyward/demo-shared';

/** The demo's root module; `envFile` is the `.env` read in development. */
@Module({})
export class AppModule {
  static forEnvFile(envFile: string): DynamicModule {
    return {
      module: AppModule,
      // apiKeys: every route needs an API key unless @Public(); scopes come from @RequireScopes().
      imports: [KeywardModule.forRoot({ ...demoStoreOptions(envFile), isGlobal: true, apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' } })],
      controllers: [DemoController],
      // The module registers KeywardExceptionFilter with the guard: Keyward errors answer with stable codes.
      providers: [RotationLogService, DatabaseService, ApiKeysService],
    };
  }
}
