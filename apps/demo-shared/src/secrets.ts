import { awsSecretsManager } from '@keyward/aws';
import { dotenvProvider, type RefreshPolicy, type SecretDeclarations, type SecretStoreOptions } from '@keyward/core';
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
  // Vault's leases drive the refresh of dynamic credentials; other backends override this.
  database: { provider: 'database', refresh: false as RefreshPolicy | false, schema: z.object({ username: z.string(), password: z.string().min(12) }) },
} satisfies SecretDeclarations;

export type DemoSecrets = typeof demoSecrets;

/**
 * The demos' store, by `KEYWARD_BACKEND` (default: `vault` when `VAULT_ADDR` is set, else `dotenv`):
 * - `vault`: Vault KV for static secrets and the database engine for credentials, logged in
 *   with AppRole (`VAULT_ROLE_ID`, `VAULT_SECRET_ID`) or a token (`VAULT_TOKEN`);
 * - `aws`: AWS Secrets Manager (`AWS_REGION`, and `KEYWARD_AWS_ENDPOINT` for the emulator) for
 *   all three, the database login being the usual `{ username, password, ... }` JSON secret,
 *   refreshed to follow its rotations;
 * - `dotenv`: the `.env` file, for development with no backend at all
 *   (`SESSION_SECRET__VALUE=...`, `DATABASE__USERNAME=...`).
 */
export function demoStoreOptions(envFile: string, env: NodeJS.ProcessEnv = process.env): SecretStoreOptions<DemoSecrets> {
  const base = { app: 'demo', secrets: demoSecrets, refresh: { interval: '30s' } } as const;
  const backend = env['KEYWARD_BACKEND'] ?? (env['VAULT_ADDR'] ? 'vault' : 'dotenv');
  if (backend === 'dotenv') {
    const dotenv = dotenvProvider({ path: envFile });
    return { ...base, providers: { development: dotenv, test: dotenv } };
  }
  if (backend === 'aws') {
    const aws = awsSecretsManager({ region: env['AWS_REGION'] ?? 'us-east-1', endpoint: env['KEYWARD_AWS_ENDPOINT'] });
    // No lease here: the database secret is read again to see a rotation's new AWSCURRENT.
    const secrets = { ...demoSecrets, database: { ...demoSecrets.database, refresh: { interval: '10s', jitter: 0.1 } } };
    return { ...base, secrets, providers: { '*': aws } };
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
