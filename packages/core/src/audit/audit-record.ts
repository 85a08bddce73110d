import { createHmac } from 'node:crypto';

/** Who did it: an API key's holder, a user (from your resolver), this service itself, or nobody known. */
export type AuditActor =
  | { readonly type: 'api-key'; readonly id: string; readonly client: string }
  | { readonly type: 'user'; readonly id: string }
  | { readonly type: 'service'; readonly id: string }
  | { readonly type: 'anonymous' };

/** One secret read while serving a request: its declared name and version, never its value. */
export interface AuditSecretRead {
  readonly name: string;
  readonly version: string;
}

/** The HTTP side of a request record. `ip` and `userAgent` are HMAC'd by default. */
export interface AuditHttp {
  readonly id: string;
  readonly method: string;
  /** The route template (`/orders/:id`), never the path with its values; `null` when no route matched. */
  readonly route: string | null;
  readonly status: number;
  readonly durationMs: number;
  readonly ip?: string;
  readonly userAgent?: string;
}

/**
 * What a caller hands to `trail.record()`; the trail adds `v`, `seq`, `time`, `prev` and `hash`.
 *
 * @example
 * await trail.record({ event: 'secret.rotated', actor: trail.service, outcome: 'success', details: { secret: 'database', from: 'v1', to: 'v2' } });
 */
export interface AuditEntry {
  /** What happened: `http.request`, `secret.rotated`, `lease.renewed`, `pool.generation`, `api-key.revoked`, ... */
  readonly event: string;
  readonly actor: AuditActor;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly request?: AuditHttp;
  readonly secrets?: readonly AuditSecretRead[];
  /** A stable error code (`API_KEY_REVOKED`, `PROVIDER_UNAVAILABLE`), never a message. */
  readonly error?: { readonly code: string };
  /** Event-specific fields: names, versions, ids. Never values. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** A record as written: one JSON line, chained to the one before it. */
export interface AuditRecord extends AuditEntry {
  readonly v: 1;
  /** 1, 2, 3, ... across the whole file (a resumed trail continues the count). */
  readonly seq: number;
  readonly time: string;
  /** The `hash` of the record before (64 zeros for the first one). */
  readonly prev: string;
  /** HMAC-SHA256, under the chain key, of this line up to (not including) `"hash"`. */
  readonly hash: string;
}

/** `prev` of the first record of a trail. */
export const AUDIT_GENESIS = '0'.repeat(64);

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/**
 * The line for a record: its JSON with `hash` last, the HMAC of everything before it. Hashing
 * the exact text (not a re-serialisation) means a verifier needs no canonical JSON.
 */
export function sealAuditLine(body: Omit<AuditRecord, 'hash'>, chainKey: Buffer): { line: string; hash: string } {
  const text = JSON.stringify(body);
  const hash = chainHash(text, chainKey);
  return { line: `${text.slice(0, -1)},"hash":"${hash}"}`, hash };
}

/** Splits a line into its sealed text and the hash it claims; `undefined` when it is not a sealed record. */
export function unsealAuditLine(line: string): { text: string; hash: string } | undefined {
  const match = HASH_SUFFIX.exec(line);
  if (match === null) return undefined;
  return { text: `${line.slice(0, match.index)}}`, hash: match[1]! };
}

export function chainHash(text: string, chainKey: Buffer): string {
  return createHmac('sha256', chainKey).update(text, 'utf8').digest('hex');
}

/** A sealed line as read back: what the verifier and a resuming trail check. */
export interface ReadAuditLine {
  readonly text: string;
  readonly hash: string;
  readonly seq: number;
  readonly prev: string;
  readonly event: unknown;
  readonly details: unknown;
}

/** A line's sealed text, claimed hash and chain fields (its seal unchecked); `undefined` when it is not a sealed record. */
export function readAuditLine(line: string): ReadAuditLine | undefined {
  const sealed = unsealAuditLine(line);
  if (sealed === undefined) return undefined;
  let body: { seq?: unknown; prev?: unknown; event?: unknown; details?: unknown };
  try {
    body = JSON.parse(sealed.text) as typeof body;
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || !Number.isSafeInteger(body.seq) || (body.seq as number) < 1 || typeof body.prev !== 'string') return undefined;
  return { text: sealed.text, hash: sealed.hash, seq: body.seq as number, prev: body.prev, event: body.event, details: body.details };
}
