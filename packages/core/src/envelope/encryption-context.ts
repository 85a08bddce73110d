import { KeywardError } from '../errors/index.js';
import type { EncryptionContext } from './kek-provider.js';

const MAX_CONTEXT_BYTES = 8 * 1024;

/**
 * The context as one canonical string: pairs sorted by key, JSON-encoded. Two contexts with the
 * same pairs in any order give the same bytes, so the additional data of AES-GCM (and a cache
 * partition) does not depend on how the caller built the object. `CONFIG_INVALID` for anything
 * but string pairs, naming the key, never quoting a value. KEK providers send it to backends
 * whose context is one string (Vault transit's derivation context).
 *
 * @example canonicalContext({ table: 'notes', id: '42' }) // '[["id","42"],["table","notes"]]'
 */
export function canonicalContext(context: EncryptionContext | undefined): string {
  if (context === undefined) return '[]';
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new KeywardError('CONFIG_INVALID', 'the encryption context must be an object of string values');
  }
  const keys = Object.keys(context).sort();
  for (const key of keys) {
    if (key.length === 0) throw new KeywardError('CONFIG_INVALID', 'the encryption context has an empty key');
    if (typeof context[key] !== 'string') {
      throw new KeywardError('CONFIG_INVALID', `the encryption context's "${key}" is not a string`);
    }
  }
  const text = JSON.stringify(keys.map((key) => [key, context[key]]));
  if (Buffer.byteLength(text) > MAX_CONTEXT_BYTES) {
    throw new KeywardError('CONFIG_INVALID', `the encryption context is over ${MAX_CONTEXT_BYTES} bytes`);
  }
  return text;
}

/** A copy of the context that later changes to the caller's object cannot reach. */
export function frozenContext(context: EncryptionContext | undefined): EncryptionContext {
  return Object.freeze({ ...(context ?? {}) });
}
