import { KeywardError } from '../errors/index.js';
import { parseDuration, type Duration } from '../util/index.js';
import { generateApiKey, type IssuedApiKey } from './api-key-format.js';
import { issued } from './issued-key.js';
import { hashApiKey, type Pepper } from './api-key-hash.js';
import type { KeyRing, KeyRingEntry } from './key-ring.js';

/** A new ring plus the key just issued (`key` is non-enumerable: hand it out once, never log it). */
export interface KeyRingChange extends IssuedApiKey {
  readonly ring: KeyRing;
}

/** What `createApiKey()` needs to issue a client's first key: client, environment, scopes, pepper. */
export interface CreateApiKeyOptions {
  client: string;
  env: string;
  scopes: readonly string[];
  pepper: Pepper;
  label?: string;
  now?: Date | number;
}

/** What `rotateApiKey()` needs: the client, the grace of its old key, and optionally new scopes. */
export interface RotateApiKeyOptions extends Omit<CreateApiKeyOptions, 'scopes'> {
  /** How long the client's old key keeps working, e.g. `'24h'`. */
  grace: Duration;
  /** Defaults to the scopes of the key being replaced. */
  scopes?: readonly string[];
  /** Expired and revoked keys older than this are dropped from the ring. Default `'7d'`. */
  retention?: Duration;
}

/**
 * Adds a first key for a client. Pure: returns a new ring and leaves the given one untouched.
 *
 * @example
 * const { ring, key } = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper });
 */
export function createApiKey(ring: KeyRing, options: CreateApiKeyOptions): KeyRingChange {
  if (currentKeyOf(ring, options.client) !== undefined) {
    throw new KeywardError('CONFIG_INVALID', `client "${options.client}" already has a current API key; rotate it instead`);
  }
  return addKey(ring.keys, ring, options, options.scopes);
}

/**
 * Issues a new current key for a client; its current key becomes `previous` and keeps working
 * for `grace`. Expired and revoked keys past `retention` are pruned. Pure.
 *
 * @example
 * const { ring: next, key } = rotateApiKey(ring, { client: 'billing', grace: '24h', env: 'live', pepper });
 */
export function rotateApiKey(ring: KeyRing, options: RotateApiKeyOptions): KeyRingChange {
  const old = currentKeyOf(ring, options.client);
  if (old === undefined) throw new KeywardError('CONFIG_INVALID', `client "${options.client}" has no current API key to rotate`);
  const now = toMillis(options.now);
  const sunset = now + parseDuration(options.grace, 'grace');
  const keys = pruneKeys(ring.keys, now, parseDuration(options.retention ?? '7d', 'retention')).map((entry) =>
    entry === old
      ? { ...entry, status: 'previous' as const, expiresAt: new Date(earliest(sunset, entry.expiresAt)).toISOString(), deprecatedAt: entry.deprecatedAt ?? new Date(now).toISOString() }
      : entry,
  );
  return addKey(keys, ring, options, options.scopes ?? old.scopes);
}

/**
 * Revokes a key at once (no grace). Revoking a revoked key changes nothing. Pure.
 *
 * @example
 * const next = revokeApiKey(ring, 'a1B2c3D4e5F6', { now: Date.now() });
 */
export function revokeApiKey(ring: KeyRing, keyId: string, options: { now?: Date | number } = {}): KeyRing {
  const target = ring.keys.find((entry) => entry.keyId === keyId);
  if (target === undefined) throw new KeywardError('API_KEY_UNKNOWN', 'no key with this keyId is in the ring');
  if (target.status === 'revoked') return ring;
  const revokedAt = new Date(toMillis(options.now)).toISOString();
  return { version: 1, keys: ring.keys.map((entry) => (entry === target ? { ...entry, status: 'revoked' as const, revokedAt } : entry)) };
}

/**
 * Drops keys that expired or were revoked more than `retention` ago (until then they answer
 * EXPIRED/REVOKED rather than UNKNOWN, which helps clients and operators). Pure.
 *
 * @example
 * const next = pruneKeyRing(ring, { retention: '30d' });
 */
export function pruneKeyRing(ring: KeyRing, options: { retention: Duration; now?: Date | number }): KeyRing {
  return { version: 1, keys: pruneKeys(ring.keys, toMillis(options.now), parseDuration(options.retention, 'retention')) };
}

function pruneKeys(keys: readonly KeyRingEntry[], now: number, retention: number): KeyRingEntry[] {
  const ended = (entry: KeyRingEntry): number | undefined => {
    if (entry.status === 'revoked') return Date.parse(entry.revokedAt ?? entry.createdAt);
    return entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt);
  };
  return keys.filter((entry) => {
    const end = ended(entry);
    return end === undefined || end + retention > now;
  });
}

function addKey(keys: readonly KeyRingEntry[], ring: KeyRing, options: CreateApiKeyOptions | RotateApiKeyOptions, scopes: readonly string[]): KeyRingChange {
  if (typeof options.client !== 'string' || options.client.length === 0) throw new KeywardError('CONFIG_INVALID', 'an API key client must be a non-empty string');
  const taken = new Set(ring.keys.map((entry) => entry.keyId));
  let fresh = generateApiKey({ env: options.env });
  while (taken.has(fresh.keyId)) fresh = generateApiKey({ env: options.env });
  const entry: KeyRingEntry = {
    keyId: fresh.keyId,
    hmac: hashApiKey(fresh.key, options.pepper),
    status: 'current',
    client: options.client,
    ...(options.label === undefined ? {} : { label: options.label }),
    scopes: [...scopes],
    createdAt: new Date(toMillis(options.now)).toISOString(),
  };
  const next: KeyRing = { version: 1, keys: [...keys, entry] };
  return issued(fresh.key, fresh.keyId, { ring: next });
}

function currentKeyOf(ring: KeyRing, client: string): KeyRingEntry | undefined {
  return ring.keys.find((entry) => entry.client === client && entry.status === 'current');
}

function earliest(sunset: number, expiresAt: string | undefined): number {
  return expiresAt === undefined ? sunset : Math.min(sunset, Date.parse(expiresAt));
}

function toMillis(now: Date | number | undefined): number {
  return now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
}
