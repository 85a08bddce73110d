import type pg from 'pg';

/** SQLSTATEs of refused credentials: invalid_password, invalid_authorization_specification. */
const AUTH_FAILURES: ReadonlySet<string> = new Set(['28P01', '28000']);

/**
 * Whether PostgreSQL refused the credentials (SQLSTATE 28P01 or 28000): the pool then reads
 * them again once and retries.
 *
 * @example isPgAuthFailure(await client.connect().catch((e) => e)) // true for a wrong password
 */
export function isPgAuthFailure(err: unknown): boolean {
  return AUTH_FAILURES.has(sqlStateOf(err) ?? '');
}

/** The SQLSTATE of an error PostgreSQL sent (a `DatabaseError`), else undefined. */
export function sqlStateOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { code, severity } = err as { code?: unknown; severity?: unknown };
  // Node's socket errors also have a `code` (EPIPE has five letters too), but never a severity.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined;
}

/**
 * Whether a query's failure leaves its connection unusable, so that it must be discarded
 * rather than reused: the socket broke, the server ended the session (SQLSTATE class 08,
 * 57P01-57P03, or a FATAL error), or the failure did not come from the server at all
 * (a read timeout, a protocol error). An SQL error (a syntax error, a constraint) leaves the
 * connection as good as before.
 *
 * @example client.release(isBrokenConnection(client, err) ? err : undefined)
 */
export function isBrokenConnection(client: pg.Client, err: unknown): boolean {
  if (isClientDead(client)) return true;
  const code = sqlStateOf(err);
  if (code === undefined) return true;
  const severity = (err as { severity?: string }).severity;
  return code.startsWith('08') || code.startsWith('57P0') || severity === 'FATAL' || severity === 'PANIC';
}

/** Whether the client can no longer run queries: its socket failed, or it was ended. */
export function isClientDead(client: pg.Client): boolean {
  // node-postgres keeps these flags private; they are what its own pool looks at.
  const state = client as unknown as { _queryable?: boolean; _ending?: boolean; _ended?: boolean };
  return state._queryable === false || state._ending === true || state._ended === true;
}
