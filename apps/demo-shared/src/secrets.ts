import { dotenvProvider, type SecretDeclarations, type SecretStoreOptions } from '@keyward/core';
import { appRoleAuth, tokenAuth, vaultDatabaseCredentials, vaultKv, type VaultConnectionOptions } from '@keyward/vault';
import { z } from 'zod';

/** The Vault database role the demos get their credentials from. */
export const DEMO_DATABASE_ROLE = 'demo-app';

/**
 * What the demo services need, validated at start-up. Static secrets are Vault KV entries
 * (`{ value }`) at `secret/data/demo/<env>/<name>`; `database` is dynamic credentials.
 */
export const demoSecrets = {
  sessionSecret: { key: 'value', schema: z.string().min(32), description: 'signs session cookies' },
  paymentsApiKey: { key: 'value', schema: z.string().min(16), description: 'calls the payment provider' },
  database: { provider: 'database', refresh: false, schema: z.object({ username: z.string(), password: z.string().min(12) }) },
} satisfies SecretDeclarations;

export type DemoSecrets = typeof demoSecrets;

/**
 * The demos' store. With `VAULT_ADDR` set (as `pnpm demo` does): Vault KV for static secrets and
 * the database engine for credentials, logged in with AppRole (`VAULT_ROLE_ID` and
 * `VAULT_SECRET_ID`) or a token (`VAULT_TOKEN`). Without it: the `.env` file, for development
 * with no Vault at all (`SESSION_SECRET__VALUE=...`, `DATABASE__USERNAME=...`).
 */
export function demoStoreOptions(envFile: string, env: NodeJS.ProcessEnv = process.env): SecretStoreOptions<DemoSecrets> {
  const base = { app: 'demo', secrets: demoSecrets, refresh: { interval: '30s' } } as const;
  if ((env['KEYWARD_BACKEND'] ?? (env['VAULT_ADDR'] ? 'vault' : 'dotenv')) === 'dotenv') {
    const dotenv = dotenvProvider({ path: envFile });
    return { ...base, providers: { development: dotenv, test: dotenv } };
  }
  const vault: VaultConnectionOptions = {
    endpoint: env['VAULT_ADDR'],
    auth: env['VAULT_ROLE_ID'] ? appRoleAuth({ roleId: env['VAULT_ROLE_ID'], secretId: env['VAULT_SECRET_ID'] }) : tokenAuth(),
  };
  // Each provider opens its own connection and closes it with the store.
  return {
    ...base,
    providers: { '*': { default: vaultKv(vault), database: vaultDatabaseCredentials({ ...vault, role: DEMO_DATABASE_ROLE }) } },
  };
}
