import type { RequestBody } from '../aws-json-server.js';
import { invalidState, KmsError, pendingDeletion } from './errors.js';
import { currentMaterial, type KeyStore, type KmsKey } from './key-store.js';
import type { KmsOperation } from './operation.js';
import { epochSeconds, optionalBoolean, optionalInteger, optionalString, page, requiredString } from './request-fields.js';

const DAY_MS = 86_400_000;

/** The KeyMetadata of a symmetric encryption key, with the fields the API Reference's DescribeKey example shows. */
export function keyMetadata(store: KeyStore, key: KmsKey): Record<string, unknown> {
  return {
    AWSAccountId: store.accountId,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: epochSeconds(key.createdMs),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.state,
    ...(key.deletionMs === undefined ? {} : { DeletionDate: epochSeconds(key.deletionMs), PendingDeletionWindowInDays: key.pendingWindowDays }),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
    CurrentKeyMaterialId: currentMaterial(key).id,
  };
}

/** What the emulator cannot make: KMS would, so it is UnsupportedOperationException, not a validation error. */
function onlySymmetric(value: string | undefined, expected: string, field: string): void {
  if (value !== undefined && value !== expected) {
    throw new KmsError('UnsupportedOperationException', `${field} ${value} is not supported by the KMS emulator, which makes keys with ${field} ${expected} only.`);
  }
}

const createKey: KmsOperation = (store, body) => {
  onlySymmetric(optionalString(body, 'KeySpec'), 'SYMMETRIC_DEFAULT', 'KeySpec');
  onlySymmetric(optionalString(body, 'CustomerMasterKeySpec'), 'SYMMETRIC_DEFAULT', 'CustomerMasterKeySpec');
  onlySymmetric(optionalString(body, 'KeyUsage'), 'ENCRYPT_DECRYPT', 'KeyUsage');
  onlySymmetric(optionalString(body, 'Origin'), 'AWS_KMS', 'Origin');
  if (optionalBoolean(body, 'MultiRegion') === true) onlySymmetric('true', 'false', 'MultiRegion');
  const description = optionalString(body, 'Description') ?? '';
  if (description.length > 8192) throw new KmsError('ValidationException', "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192");
  return { KeyMetadata: keyMetadata(store, store.create(description)) };
};

const describeKey: KmsOperation = (store, body) => ({ KeyMetadata: keyMetadata(store, store.get(requiredString(body, 'KeyId'))) });

/** The key of a request that names it by key ID or key ARN only (aliases are refused as KMS refuses them). */
export function keyOnly(store: KeyStore, body: RequestBody): KmsKey {
  return store.get(requiredString(body, 'KeyId'), { aliases: false });
}

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

const createAlias: KmsOperation = (store, body) => {
  const name = requiredString(body, 'AliasName', 256);
  if (!ALIAS_NAME.test(name) || name.startsWith('alias/aws/')) {
    throw new KmsError('InvalidAliasNameException', `Alias name ${name} is not valid: it must begin with alias/ (not alias/aws/) and use only a-z, A-Z, 0-9, /, _ and -.`);
  }
  const key = store.get(requiredString(body, 'TargetKeyId'), { aliases: false });
  if (store.hasAlias(name)) throw new KmsError('AlreadyExistsException', `An alias with the name ${store.aliasArn(name)} already exists`);
  if (key.state === 'PendingDeletion') throw pendingDeletion(key.arn);
  store.addAlias(name, key);
  return {};
};

const listAliases: KmsOperation = (store, body) => {
  const keyId = optionalString(body, 'KeyId');
  const target = keyId === undefined ? undefined : store.get(keyId, { aliases: false });
  const listed = page(body, store.allAliases().filter((a) => target === undefined || a.targetKeyId === target.id), 100, 50);
  return {
    Aliases: listed.items.map((a) => ({ AliasName: a.name, AliasArn: a.arn, TargetKeyId: a.targetKeyId, CreationDate: epochSeconds(a.createdMs), LastUpdatedDate: epochSeconds(a.createdMs) })),
    Truncated: listed.Truncated,
    ...(listed.NextMarker === undefined ? {} : { NextMarker: listed.NextMarker }),
  };
};

/** EnableKey and DisableKey: not on a key pending deletion (CancelKeyDeletion first). */
const setEnabled =
  (state: 'Enabled' | 'Disabled'): KmsOperation =>
  (store, body) => {
    const key = keyOnly(store, body);
    if (key.state === 'PendingDeletion') throw pendingDeletion(key.arn);
    key.state = state;
    return {};
  };

const scheduleKeyDeletion: KmsOperation = (store, body) => {
  const key = keyOnly(store, body);
  const days = optionalInteger(body, 'PendingWindowInDays', 7, 30) ?? 30;
  if (key.state === 'PendingDeletion') throw pendingDeletion(key.arn);
  key.state = 'PendingDeletion';
  key.deletionMs = store.now() + days * DAY_MS;
  key.pendingWindowDays = days;
  return { KeyId: key.arn, DeletionDate: epochSeconds(key.deletionMs), KeyState: key.state, PendingWindowInDays: days };
};

/** A cancelled deletion leaves the key Disabled, as KMS does: it is enabled again on purpose only. */
const cancelKeyDeletion: KmsOperation = (store, body) => {
  const key = keyOnly(store, body);
  if (key.state !== 'PendingDeletion') throw invalidState(`${key.arn} is not pending deletion.`);
  key.state = 'Disabled';
  delete key.deletionMs;
  delete key.pendingWindowDays;
  return { KeyId: key.arn };
};

export const keyManagementOperations: Readonly<Record<string, KmsOperation>> = {
  CreateKey: createKey,
  DescribeKey: describeKey,
  CreateAlias: createAlias,
  ListAliases: listAliases,
  EnableKey: setEnabled('Enabled'),
  DisableKey: setEnabled('Disabled'),
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
};
