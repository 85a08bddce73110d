import { invalidParameter, SecretsManagerError } from './errors.js';
import type { Operation } from './operation.js';
import { optionalString, requiredString } from './request-fields.js';
import { attachStage, AWSCURRENT, detachStage, pruneDeprecated, versionById, versionWithStage, type SecretRecord } from './secret-store.js';

function existingVersion(secret: SecretRecord, versionId: string) {
  const version = versionById(secret, versionId);
  if (!version) throw new SecretsManagerError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version: ${versionId}`);
  return version;
}

/**
 * UpdateSecretVersionStage: a label already on another version moves only when RemoveFromVersionId
 * names that version; AWSCURRENT can be moved but never just removed, so exactly one version has it.
 */
const updateSecretVersionStage: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'));
  const stage = requiredString(body, 'VersionStage');
  const moveTo = optionalString(body, 'MoveToVersionId');
  const removeFrom = optionalString(body, 'RemoveFromVersionId');
  if (moveTo === undefined && removeFrom === undefined) {
    throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
  }
  const target = moveTo === undefined ? undefined : existingVersion(secret, moveTo);
  const source = removeFrom === undefined ? undefined : existingVersion(secret, removeFrom);
  const holder = versionWithStage(secret, stage);
  if (source && source !== holder) {
    throw invalidParameter(`The staging label ${stage} is not attached to version ${source.id}, so it can't be removed from it.`);
  }
  if (target) {
    if (holder && holder !== target && source !== holder) {
      throw invalidParameter(
        `The staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    attachStage(secret, stage, target);
  } else if (source) {
    if (stage === AWSCURRENT) {
      throw invalidParameter('You can only move the staging label AWSCURRENT to another version; every secret must have exactly one AWSCURRENT version.');
    }
    detachStage(source, stage);
  }
  secret.lastChangedMs = store.now();
  pruneDeprecated(secret);
  return { ARN: secret.arn, Name: secret.name };
};

export const versionStageOperations: Readonly<Record<string, Operation>> = {
  UpdateSecretVersionStage: updateSecretVersionStage,
};
