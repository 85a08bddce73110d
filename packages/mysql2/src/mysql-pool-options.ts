import { KeywardError, storeCredentials, type CredentialPoolOptions, type CredentialSource, type Duration, type SecretStore } from '@keyward/core';
import type { MysqlCredentials } from './mysql-credentials.js';
import type { MysqlConnectionSettings } from './mysql-driver.js';

/** Where the pool's credentials come from: a store and the secret's name, or any `CredentialSource`. */
export type MysqlPoolCredentials =
  | { readonly store: SecretStore; readonly secret: string; readonly credentials?: undefined }
  | { readonly credentials: CredentialSource<MysqlCredentials>; readonly store?: undefined; readonly secret?: undefined };

/**
 * What `createMysqlPool()` needs: where the credentials come from, the connection settings, sizes and timeouts.
 *
 * @example
 * createMysqlPool({ store, secret: 'database', connection: { host: 'db.internal', database: 'billing' }, connectionLimit: 10 });
 */
export type MysqlPoolOptions = MysqlPoolCredentials & {
  /** Host, port, database, ssl and other mysql2 connection options (no login: that is the secret's). */
  readonly connection?: MysqlConnectionSettings;
  /** Connections at most, across credential generations (default 10). mysql2's name for `max`. */
  readonly connectionLimit?: number;
  /** Same as `connectionLimit`. */
  readonly max?: number;
  /** Connections kept open, and opened by new credentials before they take over (default 0). */
  readonly min?: number;
  /** An idle connection above `min` is closed after this (default `'30s'`). */
  readonly idleTimeout?: Duration;
  /** Time allowed to open one connection (default `'10s'`); also mysql2's `connectTimeout` unless `connection` sets one. */
  readonly connectTimeout?: Duration;
  /** Time queries on old credentials get to finish before their connections are destroyed (default `'30s'`, never past the old lease). */
  readonly drainTimeout?: Duration;
  /** Time a checkout may wait for a free connection (default `'30s'`), then POOL_TIMEOUT. */
  readonly acquireTimeout?: Duration;
  /** First wait before new credentials that failed to connect are tried again (default `'500ms'`, doubling to 30 s). */
  readonly retryBackoff?: Duration;
  /** Connections a credential switch may open beyond the limit so the new credentials take over with as many (default 0). See `CredentialPoolOptions.rotationSurge`. */
  readonly rotationSurge?: number;
};

/** The credential source the options name; CONFIG_INVALID when they name none. */
export function credentialSourceOf(options: MysqlPoolCredentials): CredentialSource<MysqlCredentials> {
  if (options.credentials !== undefined) return options.credentials;
  if (options.store === undefined || !options.secret) {
    throw new KeywardError('CONFIG_INVALID', 'a MySQL pool needs `store` and `secret` (the name of the credentials), or `credentials`');
  }
  return storeCredentials<MysqlCredentials>(options.store, options.secret);
}

/** The `CredentialPool` options; `connectionLimit` and `max` must agree when both are set. */
export function credentialPoolOptions(options: MysqlPoolOptions): CredentialPoolOptions {
  const { connectionLimit, max } = options;
  if (connectionLimit !== undefined && max !== undefined && connectionLimit !== max) {
    throw new KeywardError('CONFIG_INVALID', `connectionLimit (${connectionLimit}) and max (${max}) say different things; set one`);
  }
  return {
    max: connectionLimit ?? max,
    min: options.min,
    idleTimeout: options.idleTimeout,
    connectTimeout: options.connectTimeout,
    drainTimeout: options.drainTimeout,
    acquireTimeout: options.acquireTimeout,
    retryBackoff: options.retryBackoff,
    rotationSurge: options.rotationSurge,
  };
}
