import { invalidParameter, markedForDeletion } from './errors.js';
import type { Operation } from './operation.js';
import { epochSeconds, optionalBoolean, optionalNumber, requiredString } from './request-fields.js';

const DAY_MS = 86_400_000;

/**
 * DeleteSecret: schedules deletion after RecoveryWindowInDays (7-30, default 30), or deletes at once
 * with ForceDeleteWithoutRecovery. The emulator purges a secret lazily once its window has passed.
 */
const deleteSecret: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'), true);
  const window = optionalNumber(body, 'RecoveryWindowInDays');
  const force = optionalBoolean(body, 'ForceDeleteWithoutRecovery') ?? false;
  if (force && window !== undefined) {
    throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  if (window !== undefined && (!Number.isInteger(window) || window < 7 || window > 30)) {
    throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const now = store.now();
  if (force) {
    store.remove(secret);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(now) };
  }
  if (secret.deletionMs !== undefined) throw markedForDeletion();
  secret.deletionMs = now + (window ?? 30) * DAY_MS;
  secret.lastChangedMs = now;
  return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletionMs) };
};

/** RestoreSecret: cancels a scheduled deletion (a no-op on a live secret). */
const restoreSecret: Operation = ({ store }, body) => {
  const secret = store.get(requiredString(body, 'SecretId'), true);
  if (secret.deletionMs !== undefined) {
    delete secret.deletionMs;
    secret.lastChangedMs = store.now();
  }
  return { ARN: secret.arn, Name: secret.name };
};

export const secretDeletionOperations: Readonly<Record<string, Operation>> = {
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
};
