import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseDatabaseSecret, type DatabaseSecret } from './database-secret.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** The parts of DescribeSecret a rotation looks at. */
export interface SecretVersions {
  readonly rotationEnabled: boolean;
  /** Version id to its staging labels. */
  readonly stages: Readonly<Record<string, readonly string[]>>;
}

export async function describeVersions(client: SecretsManagerClient, secretId: string): Promise<SecretVersions> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return { rotationEnabled: described.RotationEnabled === true, stages: described.VersionIdsToStages ?? {} };
}

/** The version id carrying `stage`, if any. */
export const versionWithStage = (versions: SecretVersions, stage: string): string | undefined =>
  Object.entries(versions.stages).find(([, labels]) => labels.includes(stage))?.[0];

/** The value under `stage` (and `versionId` when given); `undefined` when Secrets Manager has no such value. */
export async function readSecret(client: SecretsManagerClient, secretId: string, stage: string, versionId?: string): Promise<DatabaseSecret | undefined> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId }));
    return parseDatabaseSecret(SecretString);
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

export async function putPending(client: SecretsManagerClient, secretId: string, token: string, secret: DatabaseSecret): Promise<void> {
  await client.send(
    new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: token, SecretString: JSON.stringify(secret), VersionStages: [AWSPENDING] }),
  );
}

export async function moveCurrent(client: SecretsManagerClient, secretId: string, token: string, current: string | undefined): Promise<void> {
  await client.send(
    new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: AWSCURRENT, MoveToVersionId: token, RemoveFromVersionId: current }),
  );
}
