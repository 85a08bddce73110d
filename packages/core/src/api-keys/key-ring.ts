import { KeywardError } from '../errors/index.js';
import { timestampMs, TIMESTAMP_FORMS } from '../util/index.js';
import { isApiKeyId } from './api-key-format.js';

/**
 * A key's place in the ring: `current` is the client's key, `previous` works until its grace ends, `revoked` never.
 */
export type ApiKeyStatus = 'current' | 'previous' | 'revoked';

/** One key of the ring. Holds the key's HMAC, never the key. Dates are ISO 8601 strings with a zone (`Z` or `±hh:mm`), or `YYYY-MM-DD` (UTC). */
export interface KeyRingEntry {
  readonly keyId: string;
  /** HMAC-SHA256 of the full key under the pepper, 64 hex characters. */
  readonly hmac: string;
  readonly status: ApiKeyStatus;
  /** Who the key belongs to; rotation works per client. */
  readonly client: string;
  readonly label?: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  /** Required for `previous` keys: the end of their grace. */
  readonly expiresAt?: string;
  /** When a `previous` key was replaced (its rotation); sent as RFC 9745 `Deprecation: @<seconds>`. */
  readonly deprecatedAt?: string;
  readonly revokedAt?: string;
}

/** The key ring document, as stored in a secret (JSON). */
export interface KeyRing {
  readonly version: 1;
  readonly keys: readonly KeyRingEntry[];
}

const STATUSES: ReadonlySet<string> = new Set(['current', 'previous', 'revoked']);
const HMAC_PATTERN = /^[0-9a-f]{64}$/;

/**
 * A ring with no keys, to start from.
 *
 * @example
 * const { ring, key } = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper });
 */
export function emptyKeyRing(): KeyRing {
  return { version: 1, keys: [] };
}

/**
 * Validates a key ring document (JSON text or parsed value) and returns a clean copy.
 * Anything malformed is `SECRET_INVALID`, naming the field but never quoting a value.
 *
 * @example
 * const ring = parseKeyRing(store.get('api-keys').reveal());
 */
export function parseKeyRing(input: unknown): KeyRing {
  let doc = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch {
      // No cause: JSON.parse messages quote the input.
      throw invalid('is not valid JSON');
    }
  }
  if (!isRecord(doc)) throw invalid('must be an object');
  if (doc['version'] !== 1) throw invalid('has an unsupported version (expected 1)');
  const keys = doc['keys'];
  if (!Array.isArray(keys)) throw invalid('must have a "keys" array');
  const seen = new Set<string>();
  const entries = keys.map((raw: unknown, i): KeyRingEntry => {
    const entry = parseEntry(raw, `keys[${i}]`);
    if (seen.has(entry.keyId)) throw invalid(`keys[${i}].keyId is a duplicate`);
    seen.add(entry.keyId);
    return entry;
  });
  return { version: 1, keys: entries };
}

function parseEntry(raw: unknown, at: string): KeyRingEntry {
  if (!isRecord(raw)) throw invalid(`${at} must be an object`);
  const field = (name: string, ok: (v: unknown) => boolean, what: string): void => {
    if (!ok(raw[name])) throw invalid(`${at}.${name} must be ${what}`);
  };
  field('keyId', isApiKeyId, '12 base62 characters');
  field('hmac', (v) => typeof v === 'string' && HMAC_PATTERN.test(v), '64 lowercase hex characters');
  field('status', (v) => typeof v === 'string' && STATUSES.has(v), "'current', 'previous' or 'revoked'");
  field('client', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
  field('label', (v) => v === undefined || typeof v === 'string', 'a string');
  field('scopes', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'an array of strings');
  field('createdAt', isDate, TIMESTAMP_FORMS);
  field('expiresAt', (v) => v === undefined || isDate(v), TIMESTAMP_FORMS);
  field('deprecatedAt', (v) => v === undefined || isDate(v), TIMESTAMP_FORMS);
  field('revokedAt', (v) => v === undefined || isDate(v), TIMESTAMP_FORMS);
  if (raw['status'] === 'previous' && raw['expiresAt'] === undefined) throw invalid(`${at}.expiresAt is required for a previous key`);
  return {
    keyId: raw['keyId'] as string,
    hmac: raw['hmac'] as string,
    status: raw['status'] as ApiKeyStatus,
    client: raw['client'] as string,
    ...(raw['label'] === undefined ? {} : { label: raw['label'] as string }),
    scopes: [...(raw['scopes'] as string[])],
    createdAt: raw['createdAt'] as string,
    ...(raw['expiresAt'] === undefined ? {} : { expiresAt: raw['expiresAt'] as string }),
    ...(raw['deprecatedAt'] === undefined ? {} : { deprecatedAt: raw['deprecatedAt'] as string }),
    ...(raw['revokedAt'] === undefined ? {} : { revokedAt: raw['revokedAt'] as string }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDate(value: unknown): boolean {
  return typeof value === 'string' && timestampMs(value) !== undefined;
}

function invalid(detail: string): KeywardError {
  return new KeywardError('SECRET_INVALID', `the API key ring ${detail}`);
}
