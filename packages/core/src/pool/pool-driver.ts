/**
 * What a `CredentialPool` needs from a database driver: open a connection with given
 * credentials, close one, and tell an authentication failure from other errors.
 *
 * @example
 * const pgDriver: PoolDriver<pg.Client, { username: string; password: string }> = {
 *   async connect({ username, password }) { const c = new pg.Client({ user: username, password }); await c.connect(); return c; },
 *   close: (c) => c.end(),
 *   destroy: (c) => c.connection.stream.destroy(),
 *   isAuthFailure: (err) => ['28P01', '28000'].includes((err as { code?: string }).code ?? ''),
 * };
 */
export interface PoolDriver<C, K> {
  /** Opens one connection with these credentials. */
  connect(credentials: K, signal: AbortSignal): Promise<C>;
  /** Proves a new generation's first connection works (e.g. `SELECT 1`). Optional. */
  check?(connection: C, signal: AbortSignal): Promise<void>;
  /** Closes a connection politely. */
  close(connection: C): Promise<void>;
  /** Ends a connection at once (drain timeout, pool end). */
  destroy(connection: C): void;
  /** The error means the credentials were refused (PostgreSQL 28P01/28000, MySQL 1045). */
  isAuthFailure(err: unknown): boolean;
}
