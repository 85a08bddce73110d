import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  createRotationHandler,
  parseDatabaseSecret,
  type DatabaseSecret,
  type RotationEvent,
  type RotationHandler,
  type RotationStrategy,
} from '@keyward/aws-rotation';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '@keyward/testing';
import type { DatabaseTarget } from './database-target.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotate';

/** A Secrets Manager emulator whose rotation function is this package's handler, for one database. */
export interface RotationFixture {
  readonly emulator: SecretsManagerEmulator;
  readonly client: SecretsManagerClient;
  /** Every log line the handlers wrote. */
  readonly logs: string[];
  handler(strategy: RotationStrategy): RotationHandler;
  /** A database user and its secret (alternating users get `masterarn`); returns the secret's ARN. */
  userSecret(strategy: RotationStrategy): Promise<{ arn: string; initial: DatabaseSecret }>;
  /**
   * A new user secret with a rotation started but left to the test (the emulator's steps fail), and
   * `password` put under AWSPENDING by hand, as an operator or another tool could.
   */
  pendingPassword(password: string): Promise<{ arn: string; token: string; initial: DatabaseSecret }>;
  /** Runs one step of the single-user handler; resolves with what it threw, if anything. */
  stepError(arn: string, token: string, step: RotationEvent['Step']): Promise<Error | undefined>;
  /** RotateSecret with `token` (default: a new one) through the real SDK; the emulator runs the steps. */
  rotate(arn: string, token?: string): Promise<string>;
  value(arn: string, stage: string): Promise<DatabaseSecret>;
  stages(arn: string): Promise<Record<string, string[]>>;
  close(): Promise<void>;
}

let users = 0;
export const newPassword = (): string => `Pw-${randomBytes(12).toString('base64url')}`;

export async function rotationFixture(target: DatabaseTarget, label: string): Promise<RotationFixture> {
  const emulator = await startSecretsManagerEmulator();
  const client = new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, maxAttempts: 1 });
  const logs: string[] = [];
  const handler = (strategy: RotationStrategy) => createRotationHandler({ engine: target.engine, strategy, client, log: (line) => logs.push(line) });
  const master = await client.send(new CreateSecretCommand({ Name: `${label}/master`, SecretString: JSON.stringify(target.master) }));
  const fixture: RotationFixture = {
    emulator,
    client,
    logs,
    handler,
    async userSecret(strategy) {
      const name = `${label}_${strategy === 'single-user' ? 'single' : 'alt'}${++users}`;
      const initial = await target.createUser(name, newPassword());
      const value = strategy === 'alternating-users' ? { ...initial, masterarn: master.ARN } : initial;
      const { ARN } = await client.send(new CreateSecretCommand({ Name: `${label}/${name}`, SecretString: JSON.stringify(value) }));
      return { arn: ARN!, initial: value };
    },
    async pendingPassword(password) {
      const { arn, initial } = await fixture.userSecret('single-user');
      emulator.setRotationHandler(async () => {
        throw new Error('the test runs the steps');
      });
      const token = await fixture.rotate(arn);
      const SecretString = JSON.stringify({ ...initial, password });
      await client.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, SecretString, VersionStages: ['AWSPENDING'] }));
      return { arn, token, initial };
    },
    stepError: (arn, token, Step) =>
      handler('single-user')({ SecretId: arn, ClientRequestToken: token, Step }).then(
        () => undefined,
        (err: unknown) => err as Error,
      ),
    async rotate(arn, token = randomUUID()) {
      await client.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: LAMBDA, ClientRequestToken: token }));
      return token;
    },
    async value(arn, stage) {
      return parseDatabaseSecret((await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString);
    },
    async stages(arn) {
      return (await client.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
    },
    async close() {
      client.destroy();
      await emulator.close();
    },
  };
  return fixture;
}
