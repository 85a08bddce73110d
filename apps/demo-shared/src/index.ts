import { dotenvProvider, envProvider, type SecretDeclarations, type SecretStoreOptions } from '@keyward/core';
import { z } from 'zod';

/** What the demo services need, validated at start-up. */
export const demoSecrets = {
  sessionSecret: { schema: z.string().min(32), description: 'signs session cookies' },
  paymentsApiKey: { schema: z.string().min(16), description: 'calls the payment provider' },
  database: { schema: z.object({ username: z.string(), password: z.string().min(12) }) },
} satisfies SecretDeclarations;

export type DemoSecrets = typeof demoSecrets;

/**
 * The demos' store: the `.env` file in development and test, the process environment
 * elsewhere (the seed's pattern; a secrets manager takes that place in a later step).
 */
export function demoStoreOptions(envFile: string): SecretStoreOptions<DemoSecrets> {
  return {
    app: 'demo',
    providers: {
      development: dotenvProvider({ path: envFile }),
      test: dotenvProvider({ path: envFile }),
      '*': envProvider(),
    },
    secrets: demoSecrets,
    refresh: { interval: '30s' },
  };
}
