import { KeywardExceptionFilter, KeywardModule } from '@keyward/nestjs';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
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
      imports: [KeywardModule.forRoot({ ...demoStoreOptions(envFile), isGlobal: true })],
      controllers: [DemoController],
      providers: [RotationLogService, DatabaseService, { provide: APP_FILTER, useClass: KeywardExceptionFilter }],
    };
  }
}
