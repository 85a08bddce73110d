import type { ConnectionOptions } from 'node:tls';
import type { DatabaseSecret } from './database-secret.js';

/**
 * How the handler reaches the database.
 *
 * @example
 * createRotationHandler({ engine: 'mysql', strategy: 'single-user', ssl: { ca }, connectTimeoutMs: 3000 });
 */
export interface ConnectOptions {
  /** TLS to the database: `true` for default verification, or Node TLS options (default: no TLS). */
  readonly ssl?: boolean | ConnectionOptions;
  /** Connect timeout in milliseconds (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** An open session as one user. */
export interface DatabaseSession {
  selectOne(): Promise<void>;
  /** Sets the session user's own password. */
  setOwnPassword(password: string): Promise<void>;
  /**
   * As an admin: makes `user` exist with the rights of `original` (created on first use; nothing to
   * create when `user` is `original`) and sets its password. Safe to repeat.
   */
  setAlternateUser(original: string, user: string, password: string): Promise<void>;
  /** Never throws. */
  end(): Promise<void>;
}

/** The SQL a rotation needs from one database engine. */
export interface DatabaseEngine {
  /** Why this engine cannot set `password` as it is, if it cannot (checked before any change). */
  passwordProblem?(password: string): string | undefined;
  /** A session as the secret's user; rejects with the driver's error when the login fails. */
  login(secret: DatabaseSecret, options: ConnectOptions): Promise<DatabaseSession>;
}
