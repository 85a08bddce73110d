import { Module } from '@nestjs/common';
import { dotenvProvider, envProvider } from '@keyward/core';
import { KeywardModule } from '@keyward/nestjs';
import { z } from 'zod';
import { AppController } from './app.controller';
import { chargesSignerProvider, StripeKeyRotations } from './charges-signer';

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
      },
      // Every route needs a key with its scopes unless @Public().
      apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' },
      audit: { key: 'auditKey', file: process.env.AUDIT_FILE ?? 'logs/audit.jsonl' },
    }),
  ],
  controllers: [AppController],
  // The charges' signing key, rebuilt when stripeKey rotates; and a method told of each rotation.
  providers: [chargesSignerProvider, StripeKeyRotations],
})
export class AppModule {}
