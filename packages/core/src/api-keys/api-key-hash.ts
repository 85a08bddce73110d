import { createHmac } from 'node:crypto';
import { KeywardError } from '../errors/index.js';

/** The server-side secret mixed into every key hash; read it from a declared secret (32+ random bytes). */
export type Pepper = string | Buffer;

/**
 * What the key ring stores instead of a key: HMAC-SHA256 of the full key under the pepper, hex.
 * A leaked ring is useless without the pepper.
 *
 * @example
 * const hmac = hashApiKey(key, store.get('api-key-pepper').reveal());
 */
export function hashApiKey(key: string, pepper: Pepper): string {
  return apiKeyHmac(key, pepper).toString('hex');
}

/** The same HMAC as `hashApiKey`, as bytes: what the verifier compares in constant time. Internal. */
export function apiKeyHmac(key: string, pepper: Pepper): Buffer {
  if ((typeof pepper !== 'string' && !Buffer.isBuffer(pepper)) || pepper.length === 0) {
    throw new KeywardError('CONFIG_INVALID', 'the API key pepper must be a non-empty string or Buffer');
  }
  return createHmac('sha256', pepper).update(key, 'utf8').digest();
}

/** A pepper given as a value or as a function that reads it (a declared secret, read at each use so a rotated pepper is seen). Internal. */
export async function readPepper(source: Pepper | (() => Pepper | Promise<Pepper>)): Promise<Pepper> {
  return typeof source === 'function' ? source() : source;
}
