import { Module } from '@nestjs/common';
import { dotenvProvider, envProvider } from '@keyward/core';
import { KeywardModule } from '@keyward/nestjs';
import { z } from 'zod';
import { AppController } from './app.controller.js';

@Module({
  imports: [
    KeywardModule.forRoot({
      app: 'shop',
      providers: { development: dotenvProvider(), '*': envProvider() },
      secrets: {
        stripeKey: {},
        apiKeys: { format: 'json' },
        apiKeyPepper: { schema: z.string().min(32) },
        auditKey: { schema: z.string().min(32) },
        envelopeKek: {},
      },
      // Every route needs a key with its scopes unless @Public().
      apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
      audit: { key: 'auditKey', file: process.env.AUDIT_FILE ?? 'logs/audit.jsonl' },
      // Envelope encryption under a local KEK whose versions are the declared secret envelopeKek.
      envelope: { kek: { localKeySet: 'envelopeKek' } },
    }),
  ],
  controllers: [AppController],
})
export class AppModule {}
