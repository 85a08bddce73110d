import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretValueEntry,
} from '@aws-sdk/client-secrets-manager';
import { isKeywardError, KeywardError, UNCHANGED, type SecretProvider, type SecretRef } from '@keyward/core';
import { BatchReads } from './batch-reads.js';
import { clientFor, type SecretsManagerClientChoice } from './client-options.js';
import { secretValueOf, type SecretJsonMode } from './secret-value.js';
import { errorNameOf, secretsManagerError } from './secrets-manager-errors.js';

const CURRENT = 'AWSCURRENT';

/**
 * Options of {@link awsSecretsManager}: the client (or its options), names, stages, parsing.
 *
 * @example { region: 'eu-west-1', versionStage: (ref) => (ref.name === 'legacyDb' ? 'AWSPREVIOUS' : 'AWSCURRENT') }
 */
export type AwsSecretsManagerOptions = SecretsManagerClientChoice & {
  /** The SecretId (a name or an ARN) of a secret; default: its rendered path (`{app}/{env}/{name}`). */
  readonly secretId?: (ref: SecretRef) => string;
  /** The staging label to read (default `AWSCURRENT`; `AWSPREVIOUS` for the version before the last rotation). */
  readonly versionStage?: string | ((ref: SecretRef) => string);
  /** How a `SecretString` is parsed (default `auto`: a JSON object becomes a map, other text stays a string). */
  readonly json?: SecretJsonMode;
  /**
   * Read the AWSCURRENT versions of secrets asked for together (bootstrap) with `BatchGetSecretValue`,
   * 20 a call (default `true`). Falls back to `GetSecretValue`, once and for all, when the batch call is denied.
   */
  readonly batch?: boolean;
  /**
   * On refresh, call `DescribeSecret` first and answer "unchanged" when the version holding the stage
   * is the one held (default `true`). Falls back to plain reads, once and for all, when it is denied.
   */
  readonly cheapRefresh?: boolean;
};

/**
 * Reads secrets from AWS Secrets Manager. The SecretId is the secret's rendered path template
 * (`billing/production/database`), the version is AWS's `VersionId`, and the value is the
 * `SecretString` (a JSON object parsed to a map, other text as is) or the `SecretBinary` bytes (a
 * Uint8Array once in the store). Refreshes cost one `DescribeSecret` while nothing changed; bootstrap
 * costs one `BatchGetSecretValue` per 20 secrets. Errors carry only AWS's error name, HTTP status and
 * message.
 *
 * @example
 * const store = await createSecretStore({
 *   app: 'billing',
 *   providers: { production: awsSecretsManager({ region: 'eu-west-1' }) },
 *   secrets: { database: {}, stripe: { key: 'apiKey' } },   // billing/production/database, .../stripe
 * });
 */
export function awsSecretsManager(options: AwsSecretsManagerOptions = {}): SecretProvider {
  const { client, owned } = clientFor(options);
  const json = options.json ?? 'auto';
  let describable = options.cheapRefresh ?? true;
  let closed = false;

  const secretIdOf = (ref: SecretRef): string => {
    const id = options.secretId ? options.secretId(ref) : ref.path;
    if (!id) throw new KeywardError('CONFIG_INVALID', 'the SecretId is empty');
    return id;
  };
  const stageOf = (ref: SecretRef): string =>
    (typeof options.versionStage === 'function' ? options.versionStage(ref) : options.versionStage) ?? CURRENT;

  const getValue = async (secretId: string, stage: string, signal: AbortSignal): Promise<SecretValueEntry> => {
    try {
      return await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }), { abortSignal: signal });
    } catch (err) {
      throw secretsManagerError(err, 'GetSecretValue', signal);
    }
  };
  const batch = options.batch === false ? undefined : new BatchReads(client, (id, signal) => getValue(id, CURRENT, signal));

  /** The VersionId that holds `stage` now, or `undefined` when none does or the secret is being deleted. */
  const versionHolding = async (secretId: string, stage: string, signal: AbortSignal): Promise<string | undefined> => {
    try {
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }), { abortSignal: signal });
      if (described.DeletedDate !== undefined) return undefined;
      const versions = Object.entries(described.VersionIdsToStages ?? {});
      return versions.find(([, stages]) => stages.includes(stage))?.[0];
    } catch (err) {
      throw secretsManagerError(err, 'DescribeSecret', signal);
    }
  };

  return {
    kind: 'aws-secrets-manager',
    locate: (ref) => {
      const stage = stageOf(ref);
      return `aws secretsmanager ${secretIdOf(ref)}${stage === CURRENT ? '' : ` (${stage})`}`;
    },
    async read(ref, { signal, current }) {
      const secretId = secretIdOf(ref);
      const stage = stageOf(ref);
      if (current !== undefined && describable) {
        try {
          if ((await versionHolding(secretId, stage, signal)) === current.version) return UNCHANGED;
        } catch (err) {
          // DescribeSecret denied to this role: plain reads from now on. Gone: GetSecretValue says how.
          if (errorNameOf(err) === 'AccessDeniedException') describable = false;
          else if (!isKeywardError(err, 'SECRET_NOT_FOUND')) throw err;
        }
      }
      const entry =
        batch !== undefined && current === undefined && stage === CURRENT
          ? await batch.read(secretId, signal)
          : await getValue(secretId, stage, signal);
      return { value: secretValueOf(entry, json), version: entry.VersionId };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) client.destroy();
    },
  };
}
