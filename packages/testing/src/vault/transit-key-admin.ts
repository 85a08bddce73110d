import type { Fields } from './fields.js';
import { badRequest } from './http-envelope.js';
import { isAeadKeyType, OTHER_DOCUMENTED_KEY_TYPES, type AeadKeyType } from './transit-crypto.js';
import { TransitKey } from './transit-keys.js';

/** Vault's checks on a key type, and a clear 400 for the documented types the dev server does not implement. */
export function keyTypeOf(type: string, forUpsert: boolean): AeadKeyType {
  if (isAeadKeyType(type)) return type;
  if (forUpsert && /^ecdsa-p(256|384|521)$/.test(type)) throw badRequest(`key type ${type} not supported for this operation`);
  if (OTHER_DOCUMENTED_KEY_TYPES.has(type)) {
    throw badRequest(`key type ${type} is not implemented by the Keyward Vault dev server (it serves aes128-gcm96, aes256-gcm96 and chacha20-poly1305)`);
  }
  throw badRequest(`unknown key type ${type}`);
}

const checkAutoRotate = (seconds: number) => {
  if (seconds !== 0 && seconds < 3600) throw badRequest('auto rotate period must be 0 to disable or at least an hour');
};

/** `pathPolicyWrite` (POST keys/:name): the new key, or the existing one untouched (`existed`). */
export function createKey(keys: Map<string, TransitKey>, name: string, f: Fields): { key: TransitKey; existed: boolean } {
  const autoRotateSeconds = f.seconds('auto_rotate_period', 0);
  checkAutoRotate(autoRotateSeconds);
  const derived = f.bool('derived', false);
  const convergent = f.bool('convergent_encryption', false);
  if (!derived && convergent) throw badRequest('convergent encryption requires derivation to be enabled');
  const type = keyTypeOf(f.string('type', 'aes256-gcm96'), false);
  if (f.int('key_size', 0) !== 0) throw badRequest(`key_size is not valid for algorithm ${type}`);
  const existing = keys.get(name);
  if (existing) return { key: existing, existed: true };
  const key = new TransitKey(name, {
    type,
    derived,
    convergent,
    exportable: f.bool('exportable', false),
    allowPlaintextBackup: f.bool('allow_plaintext_backup', false),
    autoRotateSeconds,
  });
  keys.set(name, key);
  return { key, existed: false };
}

/**
 * `pathKeysConfigWrite` (POST keys/:name/config): Vault's checks in Vault's order; a refused
 * request leaves the key as it was. Returns the warnings of the answer.
 */
export function configureKey(key: TransitKey, f: Fields): string[] {
  const { minDecryption, minEncryption, deletionAllowed, exportable, allowPlaintextBackup, autoRotateSeconds } = key;
  const warnings: string[] = [];
  try {
    if (f.has('min_decryption_version')) {
      let min = f.int('min_decryption_version');
      if (min < 0) throw badRequest('min decryption version cannot be negative');
      if (min === 0) {
        min = 1;
        warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
      }
      if (min !== key.minDecryption && min > key.latest) throw badRequest(`cannot set min decryption version of ${min}, latest key version is ${key.latest}`);
      key.minDecryption = min;
    }
    if (f.has('min_encryption_version')) {
      const min = f.int('min_encryption_version');
      if (min < 0) throw badRequest('min encryption version cannot be negative');
      if (min !== key.minEncryption && min > key.latest) throw badRequest(`cannot set min encryption version of ${min}, latest key version is ${key.latest}`);
      key.minEncryption = min;
    }
    if (key.minEncryption > 0 && key.minEncryption < key.minDecryption) {
      throw badRequest(
        `cannot set min encryption/decryption values; min encryption version of ${key.minEncryption} must be greater than or equal to min decryption version of ${key.minDecryption}`,
      );
    }
    if (f.has('deletion_allowed')) key.deletionAllowed = f.bool('deletion_allowed', false);
    // Once set, these two cannot be unset.
    if (f.bool('exportable', false)) key.exportable = true;
    if (f.bool('allow_plaintext_backup', false)) key.allowPlaintextBackup = true;
    if (f.has('auto_rotate_period')) {
      const seconds = f.seconds('auto_rotate_period');
      checkAutoRotate(seconds);
      key.autoRotateSeconds = seconds;
    }
  } catch (err) {
    Object.assign(key, { minDecryption, minEncryption, deletionAllowed, exportable, allowPlaintextBackup, autoRotateSeconds });
    throw err;
  }
  return warnings;
}

/** `pathPolicyDelete`: refused for an unknown key and unless `deletion_allowed`, in the lock manager's words. */
export function deleteKey(keys: Map<string, TransitKey>, name: string): void {
  const key = keys.get(name);
  if (!key) throw badRequest(`error deleting policy ${name}: could not delete policy; not found`);
  if (!key.deletionAllowed) throw badRequest(`error deleting policy ${name}: deletion is not allowed for this policy`);
  keys.delete(name);
}
