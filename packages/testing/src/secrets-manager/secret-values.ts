import { invalidParameter, invalidRequest, SecretsManagerError } from './errors.js';
import type { Operation } from './operation.js';
import { clientRequestToken, epochSeconds, optionalString, optionalStringList, requiredString, type RequestBody } from './request-fields.js';
import { listedSecrets } from './secret-listing.js';
import {
  attachStage,
  AWSCURRENT,
  dayOf,
  newVersionId,
  pruneDeprecated,
  versionById,
  versionWithStage,
  type SecretRecord,
  type SecretStore,
  type SecretVersion,
} from './secret-store.js';

type SecretValue = NonNullable<SecretVersion['value']>;

/** SecretString or SecretBinary (base64 in the JSON protocol); never both. */
function valueOf(body: RequestBody): SecretValue | undefined {
  const string = optionalString(body, 'SecretString');
  const binary = optionalString(body, 'SecretBinary');
  if (string !== undefined && binary !== undefined) {
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (string !== undefined) return { string };
  if (binary !== undefined) return { binary };
  return undefined;
}

const sameValue = (a: SecretValue | undefined, b: SecretValue): boolean => a !== undefined && a.string === b.string && a.binary === b.binary;

/**
 * Adds a version under the ClientRequestToken rules: an existing version with the same value is
 * returned unchanged; one with another value is a ResourceExistsException.
 */
function addVersion(store: SecretStore, secret: SecretRecord, value: SecretValue, token: string | undefined, stages: string[] | undefined): SecretVersion {
  const id = token ?? newVersionId();
  const existing = versionById(secret, id);
  if (existing?.value !== undefined) {
    if (sameValue(existing.value, value)) return existing;
    throw new SecretsManagerError('ResourceExistsException', `You can't modify an existing version, you can only create a new version. VersionId: ${id}`);
  }
  // RotateSecret's AWSPENDING stub (no value yet) is filled in place.
  const version: SecretVersion = existing ?? { id, stages: [], createdMs: store.now() };
  version.value = value;
  if (!existing) secret.versions.push(version);
  const labels = stages ?? [AWSCURRENT];
  if (secret.versions.every((v) => v === version || !v.stages.includes(AWSCURRENT)) && !labels.includes(AWSCURRENT)) labels.push(AWSCURRENT);
  for (const stage of labels) attachStage(secret, stage, version);
  secret.lastChangedMs = store.now();
  pruneDeprecated(secret);
  return version;
}

const createSecret: Operation = ({ store }, body) => {
  const name = requiredString(body, 'Name');
  const value = valueOf(body);
  const token = clientRequestToken(body);
  const existing = store.find(name);
  if (existing?.deletionMs !== undefined) {
    throw invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
  }
  if (existing) {
    if (token !== undefined && value !== undefined && sameValue(versionById(existing, token)?.value, value)) {
      return { ARN: existing.arn, Name: existing.name, VersionId: token };
    }
    throw new SecretsManagerError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  }
  const tags = (body.Tags as { Key: string; Value: string }[] | undefined) ?? [];
  const secret = store.add(name, { description: optionalString(body, 'Description'), kmsKeyId: optionalString(body, 'KmsKeyId'), tags });
  const version = value === undefined ? undefined : addVersion(store, secret, value, token, undefined);
  return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.id } : {}) };
};

const putSecretValue: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'));
  const token = clientRequestToken(body);
  const value = valueOf(body);
  if (value === undefined) throw invalidParameter('You must provide either SecretString or SecretBinary.');
  const stages = optionalStringList(body, 'VersionStages');
  const version = addVersion(store, secret, value, token, stages && [...stages]);
  return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
};

/** The version GetSecretValue answers with, or ResourceNotFoundException with AWS's wording. */
function readVersion(store: SecretStore, secret: SecretRecord, versionId?: string, stage?: string): Record<string, unknown> {
  const version = versionId !== undefined ? versionById(secret, versionId) : versionWithStage(secret, stage ?? AWSCURRENT);
  const matches = version !== undefined && (stage === undefined || version.stages.includes(stage));
  if (!matches || version.value === undefined) {
    const what = versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${stage ?? AWSCURRENT}`;
    throw new SecretsManagerError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${what}`);
  }
  const today = dayOf(store.now());
  version.lastAccessedMs = today;
  secret.lastAccessedMs = today;
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    ...(version.value.string !== undefined ? { SecretString: version.value.string } : { SecretBinary: version.value.binary }),
    VersionStages: [...version.stages],
    CreatedDate: epochSeconds(version.createdMs),
  };
}

const getSecretValue: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'));
  return readVersion(store, secret, optionalString(body, 'VersionId'), optionalString(body, 'VersionStage'));
};

const MAX_BATCH_IDS = 20;

const batchGetSecretValue: Operation = ({ store }, body) => {
  const ids = optionalStringList(body, 'SecretIdList');
  const filters = body.Filters;
  if ((ids === undefined) === (filters === undefined)) throw invalidParameter('Either SecretIdList or Filters must be provided, but not both.');
  if (ids !== undefined && ids.length > MAX_BATCH_IDS) throw invalidParameter(`SecretIdList can contain at most ${MAX_BATCH_IDS} secrets.`);
  const SecretValues: Record<string, unknown>[] = [];
  const Errors: Record<string, unknown>[] = [];
  if (ids === undefined) {
    const page = listedSecrets(store, body);
    for (const secret of page.secrets) {
      if (versionWithStage(secret, AWSCURRENT)?.value !== undefined) SecretValues.push(readVersion(store, secret));
    }
    return { SecretValues, Errors, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  }
  for (const SecretId of ids) {
    try {
      SecretValues.push(readVersion(store, store.get(SecretId)));
    } catch (err) {
      if (!(err instanceof SecretsManagerError)) throw err;
      Errors.push({ SecretId, ErrorCode: err.type, Message: err.message });
    }
  }
  return { SecretValues, Errors };
};

export const secretValueOperations: Readonly<Record<string, Operation>> = {
  CreateSecret: createSecret,
  PutSecretValue: putSecretValue,
  GetSecretValue: getSecretValue,
  BatchGetSecretValue: batchGetSecretValue,
};
