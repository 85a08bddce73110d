import { awsSecretsManager } from '@keyward/aws';
import { dirname, join } from 'node:path';
import { dotenvProvider, fileProvider, type Duration, type RefreshPolicy, type SecretDeclarations, type SecretStoreOptions } from '@keyward/core';
import { appRoleAuth, tokenAuth, vaultDatabaseCredentials, vaultKv, vaultPkiCertificate, type VaultConnectionOptions } from '@keyward/vault';
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
  // The API key ring (hashes only; written by `keyward api-keys ...`) and the pepper its hashes are made with.
  apiKeys: { path: '{app}/{env}/api-keys', refresh: { interval: '5s', jitter: 0.1 } as RefreshPolicy | false, description: 'API key ring' },
  apiKeyPepper: { path: '{app}/{env}/api-key-pepper', key: 'value', schema: z.string().min(32), description: 'API key pepper' },
  // Seals the audit trail's hash chain and HMACs its sensitive fields (logs/audit.jsonl).
  auditKey: { path: '{app}/{env}/audit-key', key: 'value', schema: z.string().min(32), description: 'audit trail key' },
} satisfies SecretDeclarations;

export type DemoSecrets = typeof demoSecrets;

/**
 * The demos' store, by `KEYWARD_BACKEND` (default: `vault` when `VAULT_ADDR` is set, else `dotenv`):
 * - `vault`: Vault KV for static secrets and the database engine for credentials, logged in
 *   with AppRole (`VAULT_ROLE_ID`, `VAULT_SECRET_ID`) or a token (`VAULT_TOKEN`); plus `tls`, the
 *   HTTPS certificate from the PKI engine (`KEYWARD_TLS_TTL` its lifetime; see {@link demoTlsEnabled});
 * - `aws`: AWS Secrets Manager (`AWS_REGION`, and `KEYWARD_AWS_ENDPOINT` for the emulator) for
 *   all three, the database login being the usual `{ username, password, ... }` JSON secret,
 *   refreshed to follow its rotations;
 * - `dotenv`: the `.env` file, for development with no backend at all
 *   (`SESSION_SECRET__VALUE=...`, `DATABASE__USERNAME=...`); the API key ring and its pepper are
 *   files beside it, `.keyward/api-keys.json` and `.keyward/api-key-pepper/value` (see
 *   {@link demoKeyRingFiles}), as a Kubernetes mount would hold them.
 */
export function demoStoreOptions(envFile: string, env: NodeJS.ProcessEnv = process.env): SecretStoreOptions<DemoSecrets> {
  // KEYWARD_API_KEY_RING_REFRESH: how often the key ring is polled (default 5 s; Redis, when set, is faster).
  const ringRefresh = env['KEYWARD_API_KEY_RING_REFRESH'];
  const declared = ringRefresh ? { ...demoSecrets, apiKeys: { ...demoSecrets.apiKeys, refresh: { interval: ringRefresh as Duration, jitter: 0.1 } } } : demoSecrets;
  const base = { app: 'demo', secrets: declared, refresh: { interval: '30s' } } as const;
  const backend = demoBackend(env);
  if (backend === 'dotenv') {
    const dotenv = dotenvProvider({ path: envFile });
    const files = demoKeyRingFiles(envFile);
    const keyRing = fileProvider({ root: files.dir, location: (ref) => (ref.name === 'apiKeys' ? files.ring : files.pepperDir) });
    // The ring file is JSON text; parsed here it is the same document Vault and AWS hand over.
    const secrets = {
      ...declared,
      apiKeys: { ...declared.apiKeys, provider: 'keyRing', format: 'json' as const },
      apiKeyPepper: { ...demoSecrets.apiKeyPepper, provider: 'keyRing' },
      // With no key service, the envelopes' KEK is a local key set: ENVELOPE_KEK__1=..., __2=... (see demoKek).
      envelopeKek: { description: 'local KEK versions for envelope encryption' },
    };
    const providers = { default: dotenv, database: dotenv, keyRing };
    return { ...base, secrets, providers: { development: providers, test: providers } } as unknown as SecretStoreOptions<DemoSecrets>;
  }
  if (backend === 'aws') {
    const aws = awsSecretsManager({ region: env['AWS_REGION'] ?? 'us-east-1', endpoint: env['KEYWARD_AWS_ENDPOINT'] });
    // No lease here: the database secret is read again to see a rotation's new AWSCURRENT.
    const secrets = { ...declared, database: { ...declared.database, refresh: { interval: '10s', jitter: 0.1 } } };
    return { ...base, secrets, providers: { '*': aws } };
  }
  const vault = demoVaultConnection(env);
  // Each provider opens its own connection and closes it with the store.
  const providers = { default: vaultKv(vault), database: vaultDatabaseCredentials({ ...vault, role: DEMO_DATABASE_ROLE }) };
  if (!demoTlsEnabled(env)) return { ...base, providers: { '*': providers } };
  // The HTTPS certificate: issued by Vault's PKI engine for localhost and 127.0.0.1; its lease
  // (the certificate's lifetime) drives the reissue at about 2/3 of it, so no refresh polling.
  const ttl = env['KEYWARD_TLS_TTL'];
  const tls = vaultPkiCertificate({ ...vault, role: DEMO_TLS_ROLE, commonName: 'localhost', ipSans: ['127.0.0.1'], ...(ttl ? { ttl: ttl as Duration } : {}) });
  const secrets = { ...declared, tls: { provider: 'tls', refresh: false, description: 'HTTPS certificate and key (Vault PKI)' } };
  return { ...base, secrets, providers: { '*': { ...providers, tls } } } as unknown as SecretStoreOptions<DemoSecrets>;
}

/** Which backend the demos run on: `KEYWARD_BACKEND`, else `vault` when `VAULT_ADDR` is set, else `dotenv`. */
export function demoBackend(env: NodeJS.ProcessEnv = process.env): 'vault' | 'aws' | 'dotenv' {
  const backend = env['KEYWARD_BACKEND'] ?? (env['VAULT_ADDR'] ? 'vault' : 'dotenv');
  return backend === 'aws' || backend === 'dotenv' ? backend : 'vault';
}

/** The Vault PKI role the demos' HTTPS certificates are issued under. */
export const DEMO_TLS_ROLE = 'demo-web';

/**
 * Whether a demo serves HTTPS: on the Vault backend (its PKI engine issues the certificate),
 * unless `DEMO_HTTPS_PORT=off` (a Vault without the demo's PKI role).
 */
export function demoTlsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return demoBackend(env) === 'vault' && env['DEMO_HTTPS_PORT'] !== 'off';
}

/** The demo app's Vault login: AppRole (`VAULT_ROLE_ID`, `VAULT_SECRET_ID`) or a token (`VAULT_TOKEN`), at `VAULT_ADDR`. */
export function demoVaultConnection(env: NodeJS.ProcessEnv = process.env): VaultConnectionOptions {
  return {
    endpoint: env['VAULT_ADDR'],
    auth: env['VAULT_ROLE_ID'] ? appRoleAuth({ roleId: env['VAULT_ROLE_ID'], secretId: env['VAULT_SECRET_ID'] }) : tokenAuth(),
  };
}

/**
 * Where the dotenv demo keeps its API key ring and pepper: `.keyward/` beside the `.env` file,
 * `api-keys.json` and `api-key-pepper/value` (a folder per secret, as a Kubernetes mount).
 */
export function demoKeyRingFiles(envFile: string): { dir: string; ring: string; pepperDir: string; pepper: string } {
  const dir = join(dirname(envFile), '.keyward');
  return { dir, ring: join(dir, 'api-keys.json'), pepperDir: join(dir, 'api-key-pepper'), pepper: join(dir, 'api-key-pepper', 'value') };
}

/**
 * Where a demo writes its audit trail: `KEYWARD_AUDIT_FILE`, else `logs/audit.jsonl` beside the
 * `.env` file (`apps/demo-<name>/logs/audit.jsonl` under `pnpm demo`; git-ignored).
 */
export function demoAuditFile(envFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = env['KEYWARD_AUDIT_FILE'];
  return file !== undefined && file !== '' ? file : join(dirname(envFile), 'logs', 'audit.jsonl');
}
