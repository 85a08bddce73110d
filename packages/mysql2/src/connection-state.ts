import type { Connection } from 'mysql2/promise';

/**
 * The parts of mysql2's callback connection (under its promise wrapper) the pool relies on.
 * mysql2 has kept these names since 1.x; `state` is newer (3.x) and not needed.
 */
interface CoreConnection {
  readonly threadId: number | null;
  readonly config: object;
  readonly stream?: { readonly destroyed?: boolean; destroy(error?: Error): void };
  readonly _fatalError?: unknown;
  readonly _protocolError?: unknown;
  readonly _closing?: boolean;
}

export function coreOf(connection: Connection): CoreConnection {
  return (connection as unknown as { connection: CoreConnection }).connection;
}

/** False once mysql2 has seen a fatal error, the server closed the socket, or the connection is closing. */
export function isUsable(connection: Connection): boolean {
  const core = coreOf(connection);
  return !core._fatalError && !core._protocolError && !core._closing && core.stream?.destroyed !== true;
}

const PASSWORD_FIELDS = ['password', 'password1', 'password2', 'password3', 'passwordSha1'] as const;

/**
 * mysql2 keeps the password on `connection.config` for its handshake. Non-enumerable, it is still
 * there for mysql2 but out of `util.inspect`, `JSON.stringify` and object spreads (as pg-pool does).
 */
export function hidePasswords(config: object): void {
  for (const field of PASSWORD_FIELDS) {
    if (Object.hasOwn(config, field)) Object.defineProperty(config, field, { enumerable: false });
  }
}
