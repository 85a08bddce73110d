import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createHash } from 'node:crypto';
import { KeywardError, emptyKeyRing, parseKeyRing, type KeyRing, type KeyRingBackend, type StoredKeyRing } from '@keyward/core';
import { clientFor, type SecretsManagerClientChoice } from './client-options.js';
import { errorNameOf, secretsManagerError } from './secrets-manager-errors.js';

/**
 * Options of {@link secretsManagerKeyRing}: a client (or its options) and the secret's name or ARN.
 *
 * @example { client, secretId: 'billing/live/api-keys' }
 */
export type SecretsManagerKeyRingOptions = SecretsManagerClientChoice & {
  /** The ring's secret (name or ARN); the same one the app declares. */
  readonly secretId: string;
  /** Customer managed KMS key for a ring secret created by the first write (default: aws/secretsmanager). */
  readonly kmsKeyId?: string;
};

/**
 * A key ring kept in AWS Secrets Manager as a JSON `SecretString`. The revision is the
 * AWSCURRENT `VersionId`. Secrets Manager has no check-and-set, so a write uses
 * `ClientRequestToken` as one: the token is derived from the version the change was computed
 * from, so two writers starting from the same version send the same token with different
 * contents, and Secrets Manager refuses the second (`ResourceExistsException`, reported as
 * `KEY_RING_CONFLICT`). A write first checks that AWSCURRENT is still that version, which also
 * catches changes made by other tools (a console edit) up to the moment of the call.
 *
 * @example
 * const admin = keyRingAdmin({ backend: secretsManagerKeyRing({ region: 'eu-west-1', secretId: 'billing/live/api-keys' }), pepper, env: 'live' });
 */
export function secretsManagerKeyRing(options: SecretsManagerKeyRingOptions): KeyRingBackend {
  const { client, owned } = clientFor(options);
  const { secretId } = options;

  async function read(): Promise<StoredKeyRing> {
    try {
      const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
      if (answer.SecretString === undefined) throw new KeywardError('SECRET_INVALID', `the key ring secret ${secretId} holds binary data, not a JSON SecretString`);
      return { ring: parseKeyRing(answer.SecretString), revision: answer.VersionId };
    } catch (err) {
      if (KeywardError.is(err)) throw err;
      const failure = secretsManagerError(err, 'GetSecretValue');
      if (errorNameOf(failure) === 'ResourceNotFoundException') return { ring: emptyKeyRing(), revision: undefined };
      throw failure;
    }
  }

  async function write(ring: KeyRing, expected: string | undefined): Promise<string> {
    const SecretString = JSON.stringify(parseKeyRing(ring));
    const ClientRequestToken = successorToken(secretId, expected);
    if (expected === undefined) {
      try {
        const created = await client.send(
          new CreateSecretCommand({ Name: secretId, SecretString, ClientRequestToken, ...(options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId }) }),
        );
        return created.VersionId ?? ClientRequestToken;
      } catch (err) {
        if (isName(err, 'ResourceExistsException')) throw conflict(secretId);
        throw secretsManagerError(err, 'CreateSecret');
      }
    }
    await expectCurrent(expected);
    try {
      const put = await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString, ClientRequestToken }));
      return put.VersionId ?? ClientRequestToken;
    } catch (err) {
      if (isName(err, 'ResourceExistsException')) throw conflict(secretId);
      throw secretsManagerError(err, 'PutSecretValue');
    }
  }

  async function expectCurrent(expected: string): Promise<void> {
    let stages: Record<string, string[]> | undefined;
    try {
      stages = (await client.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages;
    } catch (err) {
      throw secretsManagerError(err, 'DescribeSecret');
    }
    if (!(stages?.[expected] ?? []).includes('AWSCURRENT')) throw conflict(secretId);
  }

  return { location: `secrets manager ${secretId}`, read, write, ...(owned ? { close: async () => client.destroy() } : {}) };
}

/** The ClientRequestToken of the version that follows `revision`: the same for every writer that read it (a UUID-shaped SHA-256). */
function successorToken(secretId: string, revision: string | undefined): string {
  const hex = createHash('sha256').update(`keyward-key-ring\u0000${secretId}\u0000${revision ?? ''}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function conflict(secretId: string): KeywardError {
  return new KeywardError('KEY_RING_CONFLICT', `the key ring secret ${secretId} changed since it was read`);
}

function isName(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}
