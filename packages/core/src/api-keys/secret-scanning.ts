import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { AuditEntry } from '../audit/audit-record.js';
import { isKeywardError } from '../errors/index.js';
import { parseDuration, type Duration } from '../util/index.js';
import { parseApiKey } from './api-key-format.js';
import { apiKeyHmac, readPepper, type Pepper } from './api-key-hash.js';
import type { KeyRingAdmin } from './key-ring-admin.js';

/** GitHub's published secret-scanning keys (ECDSA P-256), by `key_identifier`. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** One match GitHub reports: the token, its type (as registered), where it was found. */
export interface SecretScanningMatch {
  readonly token: string;
  readonly type: string;
  readonly url?: string;
  readonly source?: string;
}

/** What the handler tells GitHub of each match: `true_positive` for a Keyward key of this ring (revoked now), else `false_positive`. Only the token's SHA-256, never the token. */
export interface SecretScanningLabel {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: 'true_positive' | 'false_positive';
}

/** Where the verifying keys come from: `key(identifier)` gives the PEM/KeyObject, or `undefined` when it does not know it. */
export interface SecretScanningKeys {
  key(identifier: string): Promise<KeyObject | undefined>;
}

/** Remembers reports already handled, so that a replayed one is refused; `firstSeen` is true once per id within `ttlMs`. Share one (Redis) across instances. */
export interface ReplayGuard {
  firstSeen(id: string, ttlMs: number): Promise<boolean>;
}

/**
 * What `secretScanningHandler()` needs: the ring to look keys up in and revoke them from (with its
 * pepper), GitHub's keys, and where to record what it did.
 */
export interface SecretScanningOptions {
  /** The stored ring: `list()` to find a reported key by its id, `revoke()` (check-and-set, then `publish`: Redis tells every instance). */
  readonly admin: Pick<KeyRingAdmin, 'list' | 'revoke'>;
  /** The pepper the ring's HMACs are made with. */
  readonly pepper: Pepper | (() => Pepper | Promise<Pepper>);
  /** GitHub's verifying keys; default `githubSecretScanningKeys()` (fetched from GitHub, cached). */
  readonly keys?: SecretScanningKeys;
  /** Refuses a report seen before (same signature and body) within `replayWindow`; default: in this process. */
  readonly replays?: ReplayGuard;
  /** Default `'24h'`. */
  readonly replayWindow?: Duration;
  /** An `api-key.leaked` record per match that is one of the ring's keys (keyId, client, where found; never the key). */
  readonly audit?: { record(entry: AuditEntry): Promise<unknown> };
  /** Largest report accepted, in bytes (default 1 MiB). */
  readonly maxBytes?: number;
}

/** One report as the HTTP layer received it: the raw body (the signature covers its bytes) and GitHub's two headers. */
export interface SecretScanningRequest {
  readonly body: Buffer;
  readonly keyIdentifier: string | undefined;
  readonly signature: string | undefined;
}

/** The answer for the HTTP layer: 200 with the labels, or a refusal (`error.code`) that changed nothing. */
export interface SecretScanningResponse {
  readonly status: number;
  readonly body: readonly SecretScanningLabel[] | { readonly error: { readonly code: string; readonly message: string } };
}

/** Handles reports from GitHub's secret-scanning partner program. */
export interface SecretScanningHandler {
  handle(request: SecretScanningRequest): Promise<SecretScanningResponse>;
}

const refusal = (status: number, code: string, message: string): SecretScanningResponse => ({ status, body: { error: { code, message } } });
const sha256 = (value: string | Buffer) => createHash('sha256').update(value).digest('hex');

/**
 * The endpoint GitHub calls when it finds a Keyward API key in a public repository or package
 * (the secret-scanning partner program): verifies the report's ECDSA signature with GitHub's key
 * (`GITHUB-PUBLIC-KEY-IDENTIFIER`, `GITHUB-PUBLIC-KEY-SIGNATURE`), refuses replays, looks each
 * reported token up by key id and HMAC in the stored ring, revokes the real ones (no grace: the key
 * is public), records each in the audit trail, and answers GitHub with a label per token.
 * Bad signatures, unknown keys, replays and malformed bodies are refused before anything changes.
 *
 * @example
 * const handler = secretScanningHandler({ admin, pepper: () => store.get('apiKeyPepper').reveal(), audit: trail });
 * app.post('/github/secret-scanning', secretScanningEndpoint(handler)); // @keyward/express
 */
export function secretScanningHandler(options: SecretScanningOptions): SecretScanningHandler {
  const keys = options.keys ?? githubSecretScanningKeys();
  const replays = options.replays ?? memoryReplayGuard();
  const windowMs = parseDuration(options.replayWindow ?? '24h', 'replayWindow');
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const pepper = (): Promise<Pepper> => readPepper(options.pepper);

  async function handle(request: SecretScanningRequest): Promise<SecretScanningResponse> {
    const { body, keyIdentifier, signature } = request;
    if (!keyIdentifier || !signature) return refusal(401, 'SIGNATURE_MISSING', 'GITHUB-PUBLIC-KEY-IDENTIFIER and GITHUB-PUBLIC-KEY-SIGNATURE are required');
    if (keyIdentifier.length > 256 || signature.length > 1024) return refusal(401, 'SIGNATURE_INVALID', 'the signature headers are malformed');
    if (body.length > maxBytes) return refusal(413, 'REPORT_TOO_LARGE', `a report is at most ${maxBytes} bytes`);
    const key = await keys.key(keyIdentifier);
    if (key === undefined) return refusal(401, 'SIGNATURE_INVALID', 'the signing key is not one of GitHub\'s');
    let valid = false;
    try {
      valid = verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) return refusal(401, 'SIGNATURE_INVALID', 'the signature does not match the report');
    const matches = parseReport(body);
    if (matches === undefined) return refusal(400, 'REPORT_MALFORMED', 'a report is a JSON array of { token, type, url, source }');
    if (!(await replays.firstSeen(sha256(Buffer.concat([Buffer.from(`${signature}\n`), body])), windowMs))) {
      return refusal(409, 'REPORT_REPLAYED', 'this report was handled already');
    }

    const ring = matches.some((m) => m.token.startsWith('kw_')) ? (await options.admin.list()).keys : [];
    const hmacKey = ring.length > 0 ? await pepper() : undefined;
    const labels: SecretScanningLabel[] = [];
    for (const match of matches) {
      const entry = hmacKey === undefined ? undefined : ringEntryOf(match.token, ring, hmacKey);
      labels.push({ token_hash: sha256(match.token), token_type: match.type, label: entry === undefined ? 'false_positive' : 'true_positive' });
      if (entry === undefined) continue;
      let revoked = entry.status === 'revoked';
      let error: string | undefined;
      if (!revoked) {
        try {
          await options.admin.revoke(entry.keyId);
          revoked = true;
        } catch (err) {
          error = isKeywardError(err) ? err.code : 'REVOKE_FAILED';
        }
      }
      await options.audit
        ?.record({
          event: 'api-key.leaked',
          actor: { type: 'service', id: 'github-secret-scanning' },
          outcome: revoked ? 'success' : 'failure',
          ...(error === undefined ? {} : { error: { code: error } }),
          details: { keyId: entry.keyId, client: entry.client, alreadyRevoked: entry.status === 'revoked', foundAt: whereFound(match.url), source: match.source ?? null },
        })
        .catch(() => {});
    }
    return { status: 200, body: labels };
  }
  return { handle };
}

/** The reported matches, or `undefined` when the body is not the documented array. */
function parseReport(body: Buffer): SecretScanningMatch[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 1000) return undefined;
  const matches: SecretScanningMatch[] = [];
  for (const item of parsed) {
    const { token, type, url, source } = (item ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || typeof type !== 'string' || token.length > 4096 || type.length > 256) return undefined;
    matches.push({ token, type, ...(typeof url === 'string' ? { url } : {}), ...(typeof source === 'string' ? { source } : {}) });
  }
  return matches;
}

/** The ring entry the token is the key of (its keyId, and its HMAC compared in constant time), if any. */
function ringEntryOf<E extends { keyId: string; hmac: string }>(token: string, ring: readonly E[], pepper: Pepper): E | undefined {
  let keyId: string;
  try {
    keyId = parseApiKey(token).keyId;
  } catch {
    return undefined; // not a Keyward key, or its checksum fails
  }
  const entry = ring.find((e) => e.keyId === keyId);
  if (entry === undefined) return undefined;
  return timingSafeEqual(apiKeyHmac(token, pepper), Buffer.from(entry.hmac, 'hex')) ? entry : undefined;
}

/** The repository or package where the key was found (scheme, host and path: no query). */
function whereFound(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`.slice(0, 512);
  } catch {
    return null;
  }
}

/** Options of `githubSecretScanningKeys()`. */
export interface GitHubSecretScanningKeysOptions {
  /** Default `GITHUB_SECRET_SCANNING_KEYS_URL`. */
  readonly url?: string;
  readonly fetch?: typeof fetch;
  /** How long fetched keys are trusted before they are fetched again (default `'1h'`). */
  readonly cacheFor?: Duration;
  /** An unknown identifier fetches the keys again at most this often (default `'1m'`): random identifiers cannot make this service hammer GitHub. */
  readonly refetchAtMost?: Duration;
}

/**
 * GitHub's secret-scanning public keys, fetched from GitHub's meta API (`{ public_keys: [{ key_identifier, key, is_current }] }`)
 * and cached; an identifier not in the cache fetches them again (rate-limited), as GitHub rotates its keys.
 *
 * @example secretScanningHandler({ admin, pepper, keys: githubSecretScanningKeys({ cacheFor: '6h' }) })
 */
export function githubSecretScanningKeys(options: GitHubSecretScanningKeysOptions = {}): SecretScanningKeys {
  const url = options.url ?? GITHUB_SECRET_SCANNING_KEYS_URL;
  const doFetch = options.fetch ?? fetch;
  const cacheMs = parseDuration(options.cacheFor ?? '1h', 'cacheFor');
  const refetchMs = parseDuration(options.refetchAtMost ?? '1m', 'refetchAtMost');
  let cached = new Map<string, KeyObject>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let fetching: Promise<void> | undefined;

  const refresh = () => {
    fetching ??= (async () => {
      try {
        const res = await doFetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
        if (!res.ok) return;
        const { public_keys: published } = (await res.json()) as { public_keys?: { key_identifier?: unknown; key?: unknown }[] };
        const next = new Map<string, KeyObject>();
        for (const entry of published ?? []) {
          if (typeof entry.key_identifier !== 'string' || typeof entry.key !== 'string') continue;
          try {
            next.set(entry.key_identifier, createPublicKey(entry.key));
          } catch {
            // Not a key: skipped.
          }
        }
        if (next.size > 0) cached = next;
      } catch {
        // GitHub unreachable: the cached keys stay.
      } finally {
        fetchedAt = Date.now();
        fetching = undefined;
      }
    })();
    return fetching;
  };

  return {
    async key(identifier) {
      const age = Date.now() - fetchedAt;
      if (age > cacheMs || (!cached.has(identifier) && age >= refetchMs)) await refresh();
      return cached.get(identifier);
    },
  };
}

/**
 * Remembers report ids in this process (bounded, oldest out first). Several instances behind a
 * load balancer share nothing through it: give them a shared guard (Redis `SET NX PX`).
 *
 * @example secretScanningHandler({ admin, pepper, replays: memoryReplayGuard({ max: 10_000 }) })
 */
export function memoryReplayGuard(options: { max?: number } = {}): ReplayGuard {
  const max = options.max ?? 10_000;
  const seen = new Map<string, number>();
  return {
    async firstSeen(id, ttlMs) {
      const now = Date.now();
      const until = seen.get(id);
      if (until !== undefined && until > now) return false;
      seen.delete(id);
      if (seen.size >= max) seen.delete(seen.keys().next().value as string);
      seen.set(id, now + ttlMs);
      return true;
    },
  };
}
