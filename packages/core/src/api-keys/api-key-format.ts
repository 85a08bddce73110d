import { createHash, randomBytes } from 'node:crypto';
import { KeywardError } from '../errors/index.js';
import { issued, type IssuedApiKey } from './issued-key.js';

// IssuedApiKey lives with `issued()`, which makes one; re-exported for the package index.
export type { IssuedApiKey } from './issued-key.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_ID_LENGTH = 12;
/** 43 base62 characters carry 43 × log2(62) ≈ 256.03 bits. */
const SECRET_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
/** Longer input is refused before any other work, so hostile headers cost nothing. */
export const MAX_API_KEY_LENGTH = 256;

const ENV_PATTERN = /^[a-z0-9]{1,16}$/;
const KEY_ID_PATTERN = /^[0-9A-Za-z]{12}$/;
const KEY_PATTERN = new RegExp(
  `^kw_([a-z0-9]{1,16})_([0-9A-Za-z]{${KEY_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

/** What a key says about itself; neither part is secret. */
export interface ParsedApiKey {
  /** The environment the key was issued for, e.g. `live` or `test`. */
  readonly env: string;
  /** The lookup id in the key ring. */
  readonly keyId: string;
}

/**
 * Issues a new key `kw_<env>_<keyId>_<secret><checksum>`. The full value exists only in the result.
 *
 * @example
 * const { key, keyId } = generateApiKey({ env: 'live' });
 */
export function generateApiKey(options: { env: string }): IssuedApiKey {
  if (typeof options.env !== 'string' || !ENV_PATTERN.test(options.env)) {
    throw new KeywardError('CONFIG_INVALID', 'an API key env must be 1 to 16 characters a-z or 0-9');
  }
  const keyId = randomBase62(KEY_ID_LENGTH);
  const body = `kw_${options.env}_${keyId}_${randomBase62(SECRET_LENGTH)}`;
  return issued(body + checksumOf(body), keyId);
}

/**
 * Reads the env and keyId of a presented key, checking its shape and checksum so that typos fail
 * before any lookup. Total: any input gives a result or `API_KEY_MALFORMED`, whose message never
 * quotes the input.
 *
 * @example
 * const { env, keyId } = parseApiKey(req.header('x-api-key') ?? '');
 */
export function parseApiKey(text: unknown): ParsedApiKey {
  const shape = apiKeyShape(text);
  if (shape === undefined || !hasValidChecksum(shape.text)) throw malformed();
  return { env: shape.env, keyId: shape.keyId };
}

/**
 * The env and keyId of a string shaped like a key, without checking its checksum (a SHA-256):
 * the verifier checks the checksum only of keys it refuses, since a key whose HMAC matches the
 * ring's is the issued key, checksum and all. Internal.
 */
export function apiKeyShape(text: unknown): { readonly text: string; readonly env: string; readonly keyId: string } | undefined {
  if (typeof text !== 'string' || text.length > MAX_API_KEY_LENGTH) return undefined;
  const match = KEY_PATTERN.exec(text);
  if (match === null) return undefined;
  return { text, env: match[1]!, keyId: match[2]! };
}

/** Whether a key-shaped string ends with the checksum of the rest. Internal. */
export function hasValidChecksum(text: string): boolean {
  return checksumOf(text.slice(0, -CHECKSUM_LENGTH)) === text.slice(-CHECKSUM_LENGTH);
}

/**
 * True for a string shaped like a keyId (12 base62 characters), e.g. an id an operator typed in.
 *
 * @example
 * if (!isApiKeyId(argv.keyId)) throw new Error('not a keyId');
 */
export function isApiKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}

/** Uniform base62 by rejection sampling: bytes >= 248 (= 4 × 62) are dropped, so there is no modulo bias. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= 248) continue;
      out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Six base62 characters from the first 48 bits of SHA-256: about 1 in 5·10^10 typos slip through. */
function checksumOf(body: string): string {
  let n = createHash('sha256').update(body, 'utf8').digest().readUIntBE(0, 6) % 62 ** CHECKSUM_LENGTH;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function malformed(): KeywardError {
  return new KeywardError('API_KEY_MALFORMED', 'the API key is malformed');
}
