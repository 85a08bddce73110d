import type { ConnectionOptions } from 'node:tls';
import type { DatabaseSecret } from './database-secret.js';

/** How the handler reaches the database. */
export interface ConnectOptions {
  /** TLS to the database: `true` for default verification, or Node TLS options (default: no TLS). */
  readonly ssl?: boolean | ConnectionOptions;
  /** Connect timeout in milliseconds (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** An open session; `end` never throws. */
export interface DatabaseSession {
  selectOne(): Promise<void>;
  end(): Promise<void>;
}

/** The SQL a rotation needs from one database engine. */
export interface DatabaseEngine {
  /** A session as the secret's user, or the driver's error when the login fails. */
  login(secret: DatabaseSecret, options: ConnectOptions): Promise<DatabaseSession>;
  /** Logged in as `secret`'s user, sets that user's own password. */
  setOwnPassword(secret: DatabaseSecret, password: string, options: ConnectOptions): Promise<void>;
  /**
   * Logged in as `admin`, makes `user` exist with the same rights as `original` (created on first
   * use) and sets its password. Safe to repeat.
   */
  setAlternateUser(admin: DatabaseSecret, original: string, user: string, password: string, options: ConnectOptions): Promise<void>;
}
