import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KeywardError, type KeywardErrorCode } from '../errors/index.js';
import { apiKeyShape, hasValidChecksum } from './api-key-format.js';
import { apiKeyHmac, type Pepper } from './api-key-hash.js';
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
  /** The end of the key's grace: refused from then on. */
  readonly sunset: Date;
}

/** What a check found, as `stats()` counts it: an accepted `current` or `previous` key, or the refusal. */
export type ApiKeyResult = 'current' | 'previous' | 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'scope';

/** Checks since the verifier was made, by result: for metrics (`keywardMetrics`), cheaper than an event per request. */
export interface ApiKeyVerifierStats {
  readonly verifications: Readonly<Record<ApiKeyResult, number>>;
}

/** The codes a presented key is refused with (401, or 403 for `API_KEY_SCOPE`). */
export type ApiKeyRefusalCode = Extract<KeywardErrorCode, 'API_KEY_MISSING' | 'API_KEY_MALFORMED' | 'API_KEY_UNKNOWN' | 'API_KEY_REVOKED' | 'API_KEY_EXPIRED' | 'API_KEY_SCOPE'>;

/**
 * What `check` finds: the principal of an accepted key, or the refusal's code (and, for a missing
 * scope, which one and whose key). Never holds the key.
 */
export type ApiKeyCheck =
  | { readonly ok: true; readonly key: VerifiedApiKey }
  | { readonly ok: false; readonly code: ApiKeyRefusalCode; readonly missingScope?: string; readonly client?: string };

/**
 * Checks presented API keys against the current ring, in constant time; what the framework guards call.
 *
 * @example
 * const key = verifier.verify(req.get('x-api-key'), { scopes: ['reports:read'] }); // throws API_KEY_* on refusal
 * const result = verifier.check(req.get('x-api-key'), { scopes: ['reports:read'] }); // { ok: false, code } on refusal, no throw
 */
export interface ApiKeyVerifier {
  verify(presented: string | null | undefined, options?: { scopes?: readonly string[] }): VerifiedApiKey;
  /** `verify` without throwing for a refusal: a refused key is a result, which is cheaper on the path a flood of bad keys takes. Other failures (an invalid ring) still throw. */
  check(presented: string | null | undefined, options?: { scopes?: readonly string[] }): ApiKeyCheck;
  /** Uses of previous keys in their grace, per client and key: who has not switched yet, and until when it may wait (`sunset`). */
  usage(): PreviousKeyUsage[];
  /** Checks (and verifies) so far, by result. */
  stats(): ApiKeyVerifierStats;
}

/** A ring entry with what each check needs made once per ring: the HMAC's bytes, the expiry, a current key's principal. */
interface IndexedEntry {
  readonly entry: KeyRingEntry;
  readonly hmac: Buffer;
  readonly expiresAt: number | undefined;
  readonly principal: VerifiedApiKey;
}

interface RingIndex {
  readonly source: unknown;
  readonly byId: ReadonlyMap<string, IndexedEntry>;
}

/** Compared against when the keyId is unknown, so the timing is the same as for a known one. */
const DUMMY_HMAC = randomBytes(32);

const REFUSALS: Readonly<Record<Exclude<ApiKeyRefusalCode, 'API_KEY_SCOPE'>, string>> = {
  API_KEY_MISSING: 'no API key was presented',
  API_KEY_MALFORMED: 'the API key is malformed',
  API_KEY_UNKNOWN: 'the API key is not known',
  API_KEY_REVOKED: 'the API key has been revoked',
  API_KEY_EXPIRED: 'the API key has expired',
};

const RESULT_OF: Readonly<Record<ApiKeyRefusalCode, ApiKeyResult>> = {
  API_KEY_MISSING: 'missing',
  API_KEY_MALFORMED: 'malformed',
  API_KEY_UNKNOWN: 'unknown',
  API_KEY_REVOKED: 'revoked',
  API_KEY_EXPIRED: 'expired',
  API_KEY_SCOPE: 'scope',
};
/** Refusals are answers, the same object each time: a flood of bad keys makes no garbage. */
const REFUSED = Object.fromEntries(Object.keys(RESULT_OF).map((code) => [code, Object.freeze({ ok: false, code })])) as unknown as Readonly<Record<ApiKeyRefusalCode, ApiKeyCheck>>;

/**
 * The KeywardError `verify` throws for a refusal `check` reported (`ApiKeyScopeError` for a missing scope).
 *
 * @example
 * const result = verifier.check(key, { scopes }); if (!result.ok) throw apiKeyRefusalError(result);
 */
export function apiKeyRefusalError(refusal: Extract<ApiKeyCheck, { ok: false }>): KeywardError {
  if (refusal.code === 'API_KEY_SCOPE') return new ApiKeyScopeError(refusal.missingScope ?? '', refusal.client ?? '');
  return new KeywardError(refusal.code, REFUSALS[refusal.code]);
}

/**
 * Checks presented API keys against the key ring: shape, lookup by keyId, peppered HMAC compared
 * in constant time (the checksum is checked for refused keys, to tell a typo from an unknown key),
 * then status, expiry and scopes. Refusals have `API_KEY_*` codes (401, or 403 for a missing
 * scope): `verify` throws them as KeywardErrors, `check` returns them.
 *
 * @example
 * const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() });
 * const { client, deprecated } = verifier.verify(req.header('x-api-key'), { scopes: ['orders:write'] });
 */
export function createApiKeyVerifier(options: ApiKeyVerifierOptions): ApiKeyVerifier {
  const now = options.now ?? Date.now;
  let index: RingIndex | undefined;
  const usage = new Map<string, { client: string; keyId: string; uses: number; lastUsedAt: number; sunset: number }>();
  // One increment per check: a request pays no more for its metrics, whoever reads them.
  const counts: Record<ApiKeyResult, number> = { current: 0, previous: 0, missing: 0, malformed: 0, unknown: 0, revoked: 0, expired: 0, scope: 0 };
  const refused = (code: ApiKeyRefusalCode): ApiKeyCheck => {
    counts[RESULT_OF[code]] += 1;
    return REFUSED[code];
  };

  function lookup(keyId: string): IndexedEntry | undefined {
    const ring = options.ring();
    let current = index;
    if (current === undefined || current.source !== ring) {
      // Validate and index once per ring document: a hand-edited ring fails loudly here, not per request.
      const parsed = parseKeyRing(ring);
      current = index = { source: ring, byId: new Map(parsed.keys.map((entry) => [entry.keyId, indexed(entry)])) };
    }
    return current.byId.get(keyId);
  }

  function check(presented: string | null | undefined, { scopes = [] }: { scopes?: readonly string[] } = {}): ApiKeyCheck {
    if (presented === undefined || presented === null || presented === '') return refused('API_KEY_MISSING');
    const shape = apiKeyShape(presented);
    if (shape === undefined) return refused('API_KEY_MALFORMED');
    const found = lookup(shape.keyId);
    const matches = timingSafeEqual(apiKeyHmac(presented, options.pepper()), found?.hmac ?? DUMMY_HMAC);
    if (found === undefined || !matches) return refused(hasValidChecksum(presented) ? 'API_KEY_UNKNOWN' : 'API_KEY_MALFORMED');

    const { entry, expiresAt } = found;
    if (entry.status === 'revoked') return refused('API_KEY_REVOKED');
    const at = now();
    if (expiresAt !== undefined && at >= expiresAt) return refused('API_KEY_EXPIRED');
    for (const scope of scopes) {
      if (!entry.scopes.includes(scope)) {
        counts.scope += 1;
        return { ok: false, code: 'API_KEY_SCOPE', missingScope: scope, client: entry.client };
      }
    }
    if (entry.status === 'current') {
      counts.current += 1;
      return { ok: true, key: found.principal };
    }
    counts.previous += 1;
    countPreviousUse(entry, at, expiresAt!);
    const since = entry.deprecatedAt === undefined ? {} : { since: new Date(entry.deprecatedAt) };
    return { ok: true, key: { ...found.principal, deprecated: { sunset: new Date(expiresAt!), ...since } } };
  }

  function verify(presented: string | null | undefined, checkOptions?: { scopes?: readonly string[] }): VerifiedApiKey {
    const result = check(presented, checkOptions);
    if (result.ok) return result.key;
    throw apiKeyRefusalError(result);
  }

  function countPreviousUse(entry: KeyRingEntry, at: number, sunset: number): void {
    const key = `${entry.client}\u0000${entry.keyId}`;
    const seen = usage.get(key) ?? { client: entry.client, keyId: entry.keyId, uses: 0, lastUsedAt: at, sunset };
    seen.sunset = sunset;
    seen.uses += 1;
    seen.lastUsedAt = at;
    usage.set(key, seen);
  }

  return {
    verify,
    check,
    usage: () => [...usage.values()].map((u) => ({ ...u, lastUsedAt: new Date(u.lastUsedAt), sunset: new Date(u.sunset) })),
    stats: () => ({ verifications: { ...counts } }),
  };
}

function indexed(entry: KeyRingEntry): IndexedEntry {
  const principal: VerifiedApiKey = Object.freeze({ keyId: entry.keyId, client: entry.client, scopes: entry.scopes, status: entry.status === 'previous' ? 'previous' : 'current' });
  return {
    entry,
    hmac: Buffer.from(entry.hmac, 'hex'),
    expiresAt: entry.expiresAt === undefined ? undefined : Date.parse(entry.expiresAt),
    principal,
  };
}
