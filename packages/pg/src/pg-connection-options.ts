import type pg from 'pg';

/** Which credentials a session was opened with: what `applicationName` may name it by. */
export interface PgSessionInfo {
  readonly user: string;
  /** The secret's version (set by `KeywardPgPool`); undefined when the credentials carry none. */
  readonly version: string | undefined;
}

/**
 * Where and how to connect: any `pg.ClientConfig` setting (host, port, database, ssl, keepAlive,
 * statement_timeout, types…) except the credentials, which come from the secret. A
 * `connectionString` may be given instead of the fields; a user or password in it is ignored.
 *
 * @example { host: 'db.internal', port: 5432, database: 'billing', ssl: { rejectUnauthorized: true } }
 */
export type PgConnectionOptions = Omit<pg.ClientConfig, 'user' | 'password'> & {
  /**
   * `application_name` of each session; a function names it after the credentials it logged in
   * with, so that `pg_stat_activity` shows which generation a session belongs to.
   *
   * @example applicationName: ({ version }) => `billing-${version}`
   */
  readonly applicationName?: string | ((session: PgSessionInfo) => string);
};
