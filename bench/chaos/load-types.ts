/** One kind of request: `/secret/:n` (reads a secret), `/db/:n` (queries PostgreSQL), `/sign/:n` (fail-closed). */
export interface LoadRoute {
  readonly kind: 'secret' | 'db' | 'sign';
  /** The API key sent as X-API-Key. */
  readonly key: string;
}

export interface LoadOptions {
  readonly url: string;
  /** Clients of the same kind: each cycles through `routes`, starting at its own offset. */
  readonly groups: readonly { readonly clients: number; readonly routes: readonly LoadRoute[] }[];
  readonly durationMs: number;
  readonly maxRequests: number;
  /** A request without an answer by then is a failure (a timeout). */
  readonly requestTimeoutMs: number;
  /** Request ids are `<idPrefix><index>`. */
  readonly idPrefix: string;
  /** To check the signatures answered. */
  readonly sessionSecret: string;
}

export const OUTCOME = {
  pending: 0,
  ok: 1,
  /** 503 AUDIT_UNAVAILABLE from a fail-closed route: documented, not a failure. */
  refused: 2,
  /** 401 API_KEY_REVOKED: right after a revoke, wrong before it. */
  revoked: 3,
  network: 4,
  timeout: 5,
  badStatus: 6,
  badBody: 7,
} as const;

/** Per request (by index): when it was sent and answered (epoch ms), its route (index into the groups' routes in order), outcome and status. */
export interface RawLoadResult {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly routes: Uint8Array;
  readonly outcomes: Uint8Array;
  readonly statuses: Uint16Array;
  /** Counts of the reasons of every answer that was not ok (status and error code, or network error code). */
  readonly reasons: Readonly<Record<string, number>>;
}
