import { randomBytes } from 'node:crypto';
import { emptyKeyRing } from '@keyward/core';
import { mountPkiEngine, mountPostgresEngine, startEmbeddedPostgres, startVaultDevServer, type RunningPostgres, type VaultDevServer } from '@keyward/testing';
import { DEMO_ENVELOPE_KEY } from './envelope-kek.js';
import { startPaymentsProvider, type PaymentsProvider } from './payments.js';
import { PARTNER_WEBHOOKS_TABLE, partnerWebhooksGrant } from './partner-webhooks.js';
import { DEMO_DATABASE_ROLE, DEMO_TLS_ROLE } from './secrets.js';

export interface DemoBackendsOptions {
  /** The environment the secrets are written for (`{env}` in `demo/{env}/<name>`; default `development`). */
  readonly environment?: string;
  /** Lifetime of the database credentials (default `'1m'`, short so that rotations can be watched). */
  readonly credentialsTtl?: string;
  /**
   * Hard limit of one set of credentials: renewals stop there and new ones are issued (default
   * `'2m'`: the status page shows the pool switch generations within about two minutes of start).
   */
  readonly credentialsMaxTtl?: string;
  /**
   * Lifetime of the HTTPS certificates the PKI engine issues to the apps (default `'10m'`; the
   * store reissues at about 2/3 of it, so a swap shows within minutes). Given to the apps as `KEYWARD_TLS_TTL`.
   */
  readonly tlsTtl?: string;
}

export interface DemoBackends {
  readonly postgres: RunningPostgres;
  readonly vault: VaultDevServer;
  /** The payment provider stand-in the app calls with `paymentsApiKey`. */
  readonly payments: PaymentsProvider;
  /**
   * Rotates `paymentsApiKey` as the payment provider's dashboard would: a new key, accepted from
   * now on (the old one no longer), written to Vault KV as the secret's next version. Resolves with that version.
   */
  rotatePaymentsKey(): Promise<number>;
  /** The demo PKI's root CA certificate (PEM; public): what an HTTPS client of the demos trusts. */
  readonly tlsCaPem: string;
  /** What a demo app needs to reach them: VAULT_ADDR, AppRole ids, the database's address, the payment provider's URL, its certificates' lifetime (KEYWARD_TLS_TTL). */
  readonly env: Readonly<Record<string, string>>;
  /** What `keyward api-keys ...` needs to manage the demo's key ring (written to `.keyward/cli.json` by the launcher). */
  readonly cliConfig: DemoCliConfig;
  stop(): Promise<void>;
}

/** The `keyward` CLI's config file for a running demo: where the ring and the pepper are, and how to reach them. */
export interface DemoCliConfig {
  readonly ring: string;
  readonly pepper: string;
  /** Where `keyward audit verify` finds the audit key. */
  readonly auditKey?: string;
  /** The envelopes' KEK for `keyward envelope ...` (`vault-transit:demo-envelopes`, `aws-kms:alias/demo-envelopes`). */
  readonly kek?: string;
  readonly env: string;
  readonly vault?: { readonly addr: string; readonly token: string };
  readonly aws?: { readonly region: string; readonly endpoint: string; readonly kmsEndpoint?: string; readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Starts what `pnpm demo` runs on: a real PostgreSQL (embedded) and a Vault dev server, set up
 * as an operator would set up production: KV secrets for the app, the database secrets engine
 * with a role that creates short-lived PostgreSQL users, the PKI engine with a role that issues
 * short-lived certificates for localhost (the apps' HTTPS), a policy, and an AppRole login.
 *
 * @example
 * const backends = await startDemoBackends();
 * spawn('node', ['dist/main.js'], { env: { ...process.env, ...backends.env } });
 */
export async function startDemoBackends(options: DemoBackendsOptions = {}): Promise<DemoBackends> {
  const environment = options.environment ?? 'development';
  const postgres = await startEmbeddedPostgres({ database: 'app' });
  let vault: VaultDevServer | undefined;
  let payments: PaymentsProvider | undefined;
  try {
    vault = await startVaultDevServer();
    const call = vaultCaller(vault);
    const statics = randomStaticSecrets();
    for (const [name, value] of Object.entries(statics)) {
      await call('POST', `secret/data/demo/${environment}/${name}`, { data: { value } });
    }
    payments = await startPaymentsProvider(statics.paymentsApiKey);
    // An empty API key ring and its pepper; keys are added with `keyward api-keys create`.
    await call('POST', `secret/data/demo/${environment}/api-keys`, { options: { cas: 0 }, data: emptyKeyRing() });
    await call('POST', `secret/data/demo/${environment}/api-key-pepper`, { data: { value: randomPepper() } });
    await call('POST', `secret/data/demo/${environment}/audit-key`, { data: { value: randomPepper() } });
    // The table of partners' webhook secrets (sealed envelopes), made by the admin; each dynamic user may use it.
    await createPartnerWebhooksTable(postgres);
    await mountPostgresEngine(vault, postgres, {
      connection: 'demo-db',
      roles: {
        [DEMO_DATABASE_ROLE]: {
          defaultTtl: options.credentialsTtl ?? '1m',
          maxTtl: options.credentialsMaxTtl ?? '2m',
          grants: [partnerWebhooksGrant('"{{name}}"')],
        },
      },
    });
    // The envelopes' KEK: a derived transit key (the encryption context is its derivation context).
    await call('POST', 'sys/mounts/transit', { type: 'transit' });
    await call('POST', `transit/keys/${DEMO_ENVELOPE_KEY}`, { derived: true });
    // The PKI engine: a root CA, and a role that issues short-lived certificates for localhost and IP addresses (the apps' HTTPS).
    const tlsTtl = options.tlsTtl ?? '10m';
    const { caPem } = await mountPkiEngine(vault, { commonName: 'Keyward Demo Root', roles: { [DEMO_TLS_ROLE]: { ttl: tlsTtl, maxTtl: '24h' } } });
    await call('PUT', 'sys/policies/acl/demo', {
      policy: [
        `path "secret/data/demo/*" { capabilities = ["read"] }`,
        // The app may revoke API keys itself (GitHub's secret-scanning reports): that one path, check-and-set writes.
        `path "secret/data/demo/${environment}/api-keys" { capabilities = ["read", "create", "update"] }`,
        `path "secret/metadata/demo/*" { capabilities = ["read"] }`,
        `path "database/creds/${DEMO_DATABASE_ROLE}" { capabilities = ["read"] }`,
        `path "sys/leases/renew" { capabilities = ["update"] }`,
        `path "sys/leases/revoke" { capabilities = ["update"] }`,
        `path "transit/datakey/plaintext/${DEMO_ENVELOPE_KEY}" { capabilities = ["update"] }`,
        `path "transit/decrypt/${DEMO_ENVELOPE_KEY}" { capabilities = ["update"] }`,
        `path "transit/rewrap/${DEMO_ENVELOPE_KEY}" { capabilities = ["update"] }`,
        `path "transit/keys/${DEMO_ENVELOPE_KEY}" { capabilities = ["read"] }`,
        // Its HTTPS certificates: issued under that one role.
        `path "pki/issue/${DEMO_TLS_ROLE}" { capabilities = ["create", "update"] }`,
      ].join('\n'),
    });
    await call('POST', 'sys/auth/approle', { type: 'approle' });
    await call('POST', 'auth/approle/role/demo', { token_policies: ['demo'], token_ttl: '10m', token_max_ttl: '1h' });
    const roleId = ((await call('GET', 'auth/approle/role/demo/role-id')) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await call('POST', 'auth/approle/role/demo/secret-id', {})) as { data: { secret_id: string } }).data.secret_id;
    const running = vault;
    const provider = payments;
    return {
      postgres,
      vault: running,
      payments: provider,
      tlsCaPem: caPem,
      async rotatePaymentsKey() {
        const key = randomStaticSecrets().paymentsApiKey;
        // The provider first (the old key stops working), then Vault: the app finds out at its next refresh, or at its next refused call.
        provider.accept(key);
        const written = (await call('POST', `secret/data/demo/${environment}/paymentsApiKey`, { data: { value: key } })) as { data: { version: number } };
        return written.data.version;
      },
      env: {
        VAULT_ADDR: running.url,
        VAULT_ROLE_ID: roleId,
        VAULT_SECRET_ID: secretId,
        DEMO_DB_PORT: String(postgres.port),
        DEMO_DB_NAME: 'app',
        DEMO_PAYMENTS_URL: provider.url,
        KEYWARD_TLS_TTL: tlsTtl,
      },
      // The operator's side: the root token of this throw-away dev server (the app itself only has its AppRole).
      cliConfig: {
        ring: `vault:secret/demo/${environment}/api-keys`,
        pepper: `vault:secret/demo/${environment}/api-key-pepper#value`,
        auditKey: `vault:secret/demo/${environment}/audit-key#value`,
        kek: `vault-transit:${DEMO_ENVELOPE_KEY}`,
        env: 'test',
        vault: { addr: running.url, token: running.rootToken },
      },
      async stop() {
        await provider.close();
        await running.close();
        await postgres.stop();
      },
    };
  } catch (err) {
    await payments?.close();
    await vault?.close();
    await postgres.stop();
    throw err;
  }
}

/** Creates the demo's `partner_webhooks` table as the database admin. */
export async function createPartnerWebhooksTable(postgres: RunningPostgres, grantTo?: string): Promise<void> {
  const admin = await postgres.connect();
  try {
    await admin.query(PARTNER_WEBHOOKS_TABLE);
    if (grantTo !== undefined) await admin.query(partnerWebhooksGrant(grantTo));
  } finally {
    await admin.end();
  }
}

/** A fresh pepper for the demo's API key hashes (or audit key): 32 random bytes. */
export function randomPepper(): string {
  return randomBytes(32).toString('base64url');
}

/** Fresh random values for the demo's static secrets, by name. */
export function randomStaticSecrets(): Record<'sessionSecret' | 'paymentsApiKey', string> {
  return { sessionSecret: randomBytes(32).toString('base64url'), paymentsApiKey: `pk_demo_${randomBytes(16).toString('hex')}` };
}

/** Calls Vault's HTTP API as the operator (root token) would with the `vault` CLI. */
function vaultCaller(vault: VaultDevServer) {
  return async (method: string, path: string, body?: object): Promise<unknown> => {
    const res = await fetch(`${vault.url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`Vault ${method} ${path} answered ${res.status}`);
    return res.status === 204 ? undefined : res.json();
  };
}
