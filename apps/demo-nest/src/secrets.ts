import { dotenvProvider, envProvider, type SecretDeclarations } from '@keyward/core';
import type { KeywardModuleOptions } from '@keyward/nestjs';
import { z } from 'zod';

/** What the demo needs, validated at start-up. */
export const secrets = {
  sessionSecret: { schema: z.string().min(32), description: 'signs session cookies' },
  paymentsApiKey: { schema: z.string().min(16), description: 'calls the payment provider' },
  database: { schema: z.object({ username: z.string(), password: z.string().min(12) }) },
} satisfies SecretDeclarations;

/** `.env` in development, the process environment elsewhere (a later step puts Vault here). */
export function keywardOptions(envFile: string): KeywardModuleOptions {
  return {
    app: 'demo',
    providers: {
      development: dotenvProvider({ path: envFile }),
      test: dotenvProvider({ path: envFile }),
      '*': envProvider(),
    },
    secrets,
    refresh: { interval: '30s' },
  };
}
