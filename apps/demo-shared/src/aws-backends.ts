import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRotationHandler } from '@keyward/aws-rotation';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startEmbeddedPostgres, startKmsEmulator, startSecretsManagerEmulator, type KmsEmulator, type RunningPostgres, type SecretsManagerEmulator } from '@keyward/testing';
import { emptyKeyRing } from '@keyward/core';
import { createPartnerWebhooksTable, randomPepper, randomStaticSecrets, type DemoCliConfig } from './backends.js';
import { DEMO_ENVELOPE_KEY } from './envelope-kek.js';

export interface AwsDemoBackends {
  readonly postgres: RunningPostgres;
  readonly secretsManager: SecretsManagerEmulator;
  /** The KMS emulator holding the envelopes' KEK (`alias/demo-envelopes`). */
  readonly kms: KmsEmulator;
  /** A client on the emulator, as an operator's CLI would be. */
  readonly client: SecretsManagerClient;
  /** What a demo app needs: KEYWARD_BACKEND=aws, the emulator's endpoint and credentials, the database's address. */
  readonly env: Readonly<Record<string, string>>;
  /** What `keyward api-keys ...` needs to manage the demo's key ring (written to `.keyward/cli.json` by the launcher). */
  readonly cliConfig: DemoCliConfig;
  /** Rotates the database password as AWS would: RotateSecret, then the four steps of the single-user Lambda. */
  rotateDatabase(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts what `KEYWARD_BACKEND=aws pnpm demo` runs on: a real PostgreSQL (embedded) with a login
 * for the app, and the Secrets Manager emulator holding `demo/<env>/sessionSecret`,
 * `demo/<env>/paymentsApiKey` and `demo/<env>/database` (the usual
 * `{ engine, host, port, username, password, dbname }` JSON).
 *
 * @example
 * const backends = await startAwsDemoBackends();
 * spawn('node', ['dist/main.js'], { env: { ...process.env, ...backends.env } });
 */
export async function startAwsDemoBackends(options: { readonly environment?: string } = {}): Promise<AwsDemoBackends> {
  const environment = options.environment ?? 'development';
  const postgres = await startEmbeddedPostgres({ database: 'app' });
  let secretsManager: SecretsManagerEmulator | undefined;
  let kms: KmsEmulator | undefined;
  try {
    secretsManager = await startSecretsManagerEmulator();
    const client = new SecretsManagerClient({ endpoint: secretsManager.endpoint, region: secretsManager.region, credentials: secretsManager.credentials });
    const password = randomBytes(18).toString('base64url');
    const admin = await postgres.connect();
    try {
      await admin.query(`CREATE ROLE demo_app LOGIN PASSWORD '${password}'`);
    } finally {
      await admin.end();
    }
    await createPartnerWebhooksTable(postgres, 'demo_app');
    // The envelopes' KEK: a symmetric KMS key behind an alias, in the KMS emulator.
    kms = await startKmsEmulator();
    const kmsClient = new KMSClient({ endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials });
    const { KeyMetadata } = await kmsClient.send(new CreateKeyCommand({ Description: 'demo envelopes' }));
    await kmsClient.send(new CreateAliasCommand({ AliasName: `alias/${DEMO_ENVELOPE_KEY}`, TargetKeyId: KeyMetadata!.KeyId }));
    kmsClient.destroy();
    const put = (name: string, value: object) =>
      client.send(new CreateSecretCommand({ Name: `demo/${environment}/${name}`, SecretString: JSON.stringify(value) }));
    for (const [name, value] of Object.entries(randomStaticSecrets())) await put(name, { value });
    await put('api-keys', emptyKeyRing());
    await put('api-key-pepper', { value: randomPepper() });
    await put('audit-key', { value: randomPepper() });
    await put('database', { engine: 'postgres', host: '127.0.0.1', port: postgres.port, username: 'demo_app', password, dbname: 'app' });
    // The rotation Lambda, as AWS would call it: PostgreSQL, single user.
    secretsManager.setRotationHandler(createRotationHandler({ engine: 'postgres', strategy: 'single-user', client, log: () => {} }));
    const running = secretsManager;
    const runningKms = kms;
    const databaseId = `demo/${environment}/database`;
    return {
      postgres,
      secretsManager: running,
      kms: runningKms,
      client,
      env: {
        KEYWARD_BACKEND: 'aws',
        KEYWARD_AWS_ENDPOINT: running.endpoint,
        KEYWARD_AWS_KMS_ENDPOINT: runningKms.endpoint,
        AWS_REGION: running.region,
        AWS_ACCESS_KEY_ID: running.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: running.credentials.secretAccessKey,
        DEMO_DB_PORT: String(postgres.port),
        DEMO_DB_NAME: 'app',
      },
      cliConfig: {
        ring: `aws:demo/${environment}/api-keys`,
        pepper: `aws:demo/${environment}/api-key-pepper#value`,
        auditKey: `aws:demo/${environment}/audit-key#value`,
        kek: `aws-kms:alias/${DEMO_ENVELOPE_KEY}`,
        env: 'test',
        aws: { region: running.region, endpoint: running.endpoint, kmsEndpoint: runningKms.endpoint, accessKeyId: running.credentials.accessKeyId, secretAccessKey: running.credentials.secretAccessKey },
      },
      async rotateDatabase() {
        await client.send(
          new RotateSecretCommand({
            SecretId: databaseId,
            RotationLambdaARN: `arn:aws:lambda:${running.region}:123456789012:function:keyward-demo-rotation`,
            RotationRules: { AutomaticallyAfterDays: 30 },
          }),
        );
      },
      async stop() {
        client.destroy();
        await running.close();
        await runningKms.close();
        await postgres.stop();
      },
    };
  } catch (err) {
    await secretsManager?.close();
    await kms?.close();
    await postgres.stop();
    throw err;
  }
}
