import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KeywardError } from '../errors/index.js';
import { parseApiKey } from './api-key-format.js';
import { hashApiKey, type Pepper } from './api-key-hash.js';
import { ApiKeyScopeError } from './api-key-scope.error.js';
import { parseKeyRing, type KeyRingEntry } from './key-ring.js';

/**
 * Where a verifier reads the ring and the pepper (functions, so that rotations reach it), and its clock.
 */
export interface ApiKeyVerifierOptions {
  /** The current ring document (parsed, or JSON text), e.g. a declared secret's value. Return a new reference on each change (the store and the rotation functions do): it is validated and indexed once per reference. */
  ring: () => unknown;
  pepper: () => Pepper;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** Who a valid key belongs to. Never holds the key. */
export interface VerifiedApiKey {
  readonly keyId: string;
  readonly client: string;
  readonly scopes: readonly string[];
  readonly status: 'current' | 'previous';
  /** Set for a previous key in its grace: the client should switch before `sunset`; `since` is its rotation (absent in rings written before it was recorded). */
  readonly deprecated?: { readonly sunset: Date; readonly since?: Date };
}

/** Uses of previous keys, so operators know when a grace can end early. */
export interface PreviousKeyUsage {
  readonly client: string;
  readonly keyId: string;
  readonly uses: number;
  readonly lastUsedAt: Date;
}

/**
 * Checks presented API keys against the current ring, in constant time; what the framework guards call.
 *
 * @example
 * const key = verifier.verify(req.get('x-api-key'), { scopes: ['reports:read'] }); // throws API_KEY_* on refusal
 */
export interface ApiKeyVerifier {
  verify(presented: string | null | undefined, options?: { scopes?: readonly string[] }): VerifiedApiKey;
  usage(): PreviousKeyUsage[];
}

interface RingIndex {
  readonly source: unknown;
  readonly byId: ReadonlyMap<string, KeyRingEntry>;
}

/** Compared against when the keyId is unknown, so the timing is the same as for a known one. */
const DUMMY_HMAC = randomBytes(32);

/**
 * Checks presented API keys against the key ring: format and checksum, lookup by keyId, peppered
 * HMAC compared in constant time, then status, expiry and scopes. Failures are KeywardErrors with
 * `API_KEY_*` codes (401, or 403 for a missing scope).
 *
 * @example
 * const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() });
 * const { client, deprecated } = verifier.verify(req.header('x-api-key'), { scopes: ['orders:write'] });
 */
export function createApiKeyVerifier(options: ApiKeyVerifierOptions): ApiKeyVerifier {
  const now = options.now ?? Date.now;
  let index: RingIndex | undefined;
  const usage = new Map<string, { client: string; keyId: string; uses: number; lastUsedAt: number }>();

  function lookup(keyId: string): KeyRingEntry | undefined {
    const ring = options.ring();
    let current = index;
    if (current === undefined || current.source !== ring) {
      // Validate once per ring document: a hand-edited ring fails loudly here, not per request.
      const parsed = parseKeyRing(ring);
      current = index = { source: ring, byId: new Map(parsed.keys.map((entry) => [entry.keyId, entry])) };
    }
    return current.byId.get(keyId);
  }

  function verify(presented: string | null | undefined, { scopes = [] }: { scopes?: readonly string[] } = {}): VerifiedApiKey {
    if (presented === undefined || presented === null || presented === '') {
      throw new KeywardError('API_KEY_MISSING', 'no API key was presented');
    }
    const { keyId } = parseApiKey(presented);
    const entry = lookup(keyId);
    const actual = Buffer.from(hashApiKey(presented, options.pepper()), 'hex');
    const expected = entry === undefined ? DUMMY_HMAC : Buffer.from(entry.hmac, 'hex');
    const matches = timingSafeEqual(actual, expected);
    if (entry === undefined || !matches) throw new KeywardError('API_KEY_UNKNOWN', 'the API key is not known');

    if (entry.status === 'revoked') throw new KeywardError('API_KEY_REVOKED', 'the API key has been revoked');
    const at = now();
    const expiresAt = entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt);
    if (expiresAt !== undefined && at >= expiresAt) throw new KeywardError('API_KEY_EXPIRED', 'the API key has expired');
    const missing = scopes.find((scope) => !entry.scopes.includes(scope));
    if (missing !== undefined) throw new ApiKeyScopeError(missing, entry.client);

    const result = { keyId: entry.keyId, client: entry.client, scopes: entry.scopes, status: entry.status };
    if (entry.status === 'current') return result;
    countPreviousUse(entry, at);
    const since = entry.deprecatedAt === undefined ? {} : { since: new Date(entry.deprecatedAt) };
    return { ...result, deprecated: { sunset: new Date(expiresAt!), ...since } };
  }

  function countPreviousUse(entry: KeyRingEntry, at: number): void {
    const key = `${entry.client}\u0000${entry.keyId}`;
    const seen = usage.get(key) ?? { client: entry.client, keyId: entry.keyId, uses: 0, lastUsedAt: at };
    seen.uses += 1;
    seen.lastUsedAt = at;
    usage.set(key, seen);
  }

  return {
    verify,
    usage: () => [...usage.values()].map((u) => ({ ...u, lastUsedAt: new Date(u.lastUsedAt) })),
  };
}
