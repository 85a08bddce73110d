// The backends each scenario's app runs on, set up as an operator would (as the demo's launcher
// does, apps/demo-shared/src/backends.ts): a Vault dev server with the demo's KV secrets, the
// database secrets engine on the shared PostgreSQL and an AppRole login; or the Secrets Manager
// emulator with the demo's secrets (behind a fault proxy); the API key ring holding the load's keys.
import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createApiKey, emptyKeyRing, type KeyRing } from '@keyward/core';
import { DEMO_DATABASE_ROLE } from '@keyward/demo-shared';
import { mountPostgresEngine, startSecretsManagerEmulator, startVaultDevServer, type RunningPostgres, type SecretsManagerEmulator, type VaultDevServer } from '@keyward/testing';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** The `{env}` of every chaos app's secrets: `demo/chaos/<name>`. */
export const ENVIRONMENT = 'chaos';
/** The scope every chaos route needs. */
export const SCOPE = 'chaos';

/** What the harness knows and the app reads from its backend: the values the load checks answers against. */
export interface ChaosSecrets {
  readonly sessionSecret: string;
  readonly auditKey: string;
  readonly pepper: string;
  /** Keys by client name (`load`, and `victim` when asked for). */
  readonly keys: Readonly<Record<string, { key: string; keyId: string }>>;
  readonly ring: KeyRing;
}

function chaosSecrets(clients: readonly string[]): ChaosSecrets {
  const pepper = randomBytes(32).toString('base64url');
  let ring = emptyKeyRing();
  const keys: Record<string, { key: string; keyId: string }> = {};
  for (const client of clients) {
    const issued = createApiKey(ring, { client, env: 'test', scopes: [SCOPE], pepper });
    ring = issued.ring;
    keys[client] = { key: issued.key, keyId: issued.keyId };
  }
  return { sessionSecret: randomBytes(32).toString('base64url'), auditKey: randomBytes(32).toString('base64url'), pepper, keys, ring };
}

export interface VaultBackend {
  readonly vault: VaultDevServer;
  readonly secrets: ChaosSecrets;
  /** The app's environment (what `demoStoreOptions` reads): VAULT_ADDR and its AppRole ids. */
  readonly env: Readonly<Record<string, string>>;
  /** Calls Vault's API as the operator (root token). */
  call(method: string, path: string, body?: object): Promise<unknown>;
  close(): Promise<void>;
}

/** A Vault dev server for one scenario: its own leases, the role's TTLs as asked. */
export async function startVaultBackend(postgres: RunningPostgres, options: { ttl: string; maxTtl: string; clients?: readonly string[] }): Promise<VaultBackend> {
  const vault = await startVaultDevServer();
  const call = async (method: string, path: string, body?: object): Promise<unknown> => {
    const res = await fetch(`${vault.url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Vault ${method} ${path} answered ${res.status}`);
    return res.status === 204 ? undefined : res.json();
  };
  try {
    const secrets = chaosSecrets(options.clients ?? ['load']);
    const kv = (name: string, data: object) => call('POST', `secret/data/demo/${ENVIRONMENT}/${name}`, { data });
    await kv('sessionSecret', { value: secrets.sessionSecret });
    await kv('paymentsApiKey', { value: `pk_chaos_${randomBytes(16).toString('hex')}` });
    await kv('api-keys', secrets.ring);
    await kv('api-key-pepper', { value: secrets.pepper });
    await kv('audit-key', { value: secrets.auditKey });
    await mountPostgresEngine(vault, postgres, { connection: 'chaos-db', roles: { [DEMO_DATABASE_ROLE]: { defaultTtl: options.ttl, maxTtl: options.maxTtl } } });
    await call('PUT', 'sys/policies/acl/chaos', {
      policy: [
        `path "secret/data/demo/*" { capabilities = ["read"] }`,
        `path "secret/metadata/demo/*" { capabilities = ["read"] }`,
        `path "database/creds/${DEMO_DATABASE_ROLE}" { capabilities = ["read"] }`,
        `path "sys/leases/*" { capabilities = ["update"] }`,
      ].join('\n'),
    });
    await call('POST', 'sys/auth/approle', { type: 'approle' });
    await call('POST', 'auth/approle/role/chaos', { token_policies: ['chaos'], token_ttl: '10m', token_max_ttl: '1h' });
    const roleId = ((await call('GET', 'auth/approle/role/chaos/role-id')) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await call('POST', 'auth/approle/role/chaos/secret-id', {})) as { data: { secret_id: string } }).data.secret_id;
    return {
      vault,
      secrets,
      env: { KEYWARD_BACKEND: 'vault', VAULT_ADDR: vault.url, VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId, DEMO_DB_PORT: String(postgres.port), DEMO_DB_NAME: postgres.database },
      call,
      close: () => vault.close(),
    };
  } catch (err) {
    await vault.close();
    throw err;
  }
}

export interface AwsBackend {
  readonly emulator: SecretsManagerEmulator;
  /** Between the app and the emulator: throttling and 5xx on demand. */
  readonly proxy: FaultProxy;
  readonly secrets: ChaosSecrets;
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** The Secrets Manager emulator with the demo's secrets and a PostgreSQL login for the app; the app talks to it through a fault proxy. */
export async function startAwsBackend(postgres: RunningPostgres): Promise<AwsBackend> {
  const emulator = await startSecretsManagerEmulator();
  let proxy: FaultProxy | undefined;
  const client = new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
  try {
    proxy = await startFaultProxy(emulator.endpoint);
    const secrets = chaosSecrets(['load']);
    const password = randomBytes(18).toString('base64url');
    const username = `chaos_aws_${randomBytes(3).toString('hex')}`;
    const admin = await postgres.connect();
    try {
      await admin.query(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
    } finally {
      await admin.end();
    }
    const put = (name: string, value: object) => client.send(new CreateSecretCommand({ Name: `demo/${ENVIRONMENT}/${name}`, SecretString: JSON.stringify(value) }));
    await put('sessionSecret', { value: secrets.sessionSecret });
    await put('paymentsApiKey', { value: `pk_chaos_${randomBytes(16).toString('hex')}` });
    await put('api-keys', secrets.ring);
    await put('api-key-pepper', { value: secrets.pepper });
    await put('audit-key', { value: secrets.auditKey });
    await put('database', { engine: 'postgres', host: '127.0.0.1', port: postgres.port, username, password, dbname: postgres.database });
    const running = proxy;
    return {
      emulator,
      proxy: running,
      secrets,
      env: {
        KEYWARD_BACKEND: 'aws',
        KEYWARD_AWS_ENDPOINT: running.url,
        AWS_REGION: emulator.region,
        AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
        DEMO_DB_PORT: String(postgres.port),
        DEMO_DB_NAME: postgres.database,
      },
      close: async () => {
        client.destroy();
        await running.close();
        await emulator.close();
      },
    };
  } catch (err) {
    client.destroy();
    await proxy?.close();
    await emulator.close();
    throw err;
  }
}
