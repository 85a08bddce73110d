import { KeywardError, storeCredentials, type CredentialPoolOptions, type CredentialSource, type Duration, type SecretStore } from '@keyward/core';
import type { PgConnectionOptions } from './pg-connection-options.js';
import type { PgCredentials } from './pg-credentials.js';

/**
 * Where a pool's credentials come from: a started `SecretStore` and the declared name of the
 * secret, or any `CredentialSource`.
 *
 * @example { store, secret: 'database' }
 */
export type PgCredentialsChoice =
  | { readonly store: SecretStore; readonly secret: string; readonly credentials?: undefined }
  | { readonly credentials: CredentialSource<PgCredentials>; readonly store?: undefined; readonly secret?: undefined };

/** Pool sizing and timing, under `pg.Pool`'s names where it has one. */
export interface PgPoolSettings {
  /** Connections at most, across credential generations (default 10). */
  readonly max?: number;
  /** Connections kept open when idle, and opened by `warm()` and by each new generation before it takes over (default 0). */
  readonly min?: number;
  /** An idle connection above `min` is closed after this many ms (default 10000, as `pg.Pool`; 0 keeps them). */
  readonly idleTimeoutMillis?: number;
  /** The same as `idleTimeoutMillis`, as a duration (`'30s'`); wins over it. */
  readonly idleTimeout?: Duration;
  /** `pg.Pool`'s: the time a checkout may wait for a connection, and the time to open one. 0 or absent: the defaults below. */
  readonly connectionTimeoutMillis?: number;
  /** Time a checkout may wait for a free connection, then POOL_TIMEOUT (default `connectionTimeoutMillis`, else `'30s'`). */
  readonly acquireTimeout?: Duration;
  /** Time to open and log in one connection (default `connectionTimeoutMillis`, else `'10s'`). */
  readonly connectTimeout?: Duration;
  /** Time checked-out clients of old credentials get to come back before their sockets are ended (default `'30s'`; never past the old lease). */
  readonly drainTimeout?: Duration;
  /** First wait before new credentials that failed to log in are tried again (default `'500ms'`, doubling to 30 s). */
  readonly retryBackoff?: Duration;
  /** Connections a credential switch may open beyond `max` so the new credentials take over with as many (default 0). See `CredentialPoolOptions.rotationSurge`. */
  readonly rotationSurge?: number;
}

/**
 * Options of `createPgPool` / `new KeywardPgPool`: the credentials, the connection settings of
 * `pg.ClientConfig` (except user and password), and the pool's size and timing.
 *
 * @example { store, secret: 'database', host: '127.0.0.1', database: 'billing', max: 20, drainTimeout: '1m' }
 */
export type KeywardPgPoolOptions = PgCredentialsChoice & PgConnectionOptions & PgPoolSettings;

/** The options split into what the credential pool, the driver and the source each need. Throws CONFIG_INVALID. */
export function splitPgPoolOptions(options: KeywardPgPoolOptions): {
  source: CredentialSource<unknown>;
  connection: PgConnectionOptions;
  pool: CredentialPoolOptions;
} {
  const {
    store,
    secret,
    credentials,
    max,
    min,
    idleTimeoutMillis,
    idleTimeout,
    connectionTimeoutMillis,
    acquireTimeout,
    connectTimeout,
    drainTimeout,
    retryBackoff,
    rotationSurge,
    ...connection
  } = options;
  const waitMs = connectionTimeoutMillis !== undefined && connectionTimeoutMillis > 0 ? connectionTimeoutMillis : undefined;
  return {
    source: sourceOf(store, secret, credentials),
    connection,
    pool: {
      max: max ?? 10,
      min: min ?? 0,
      idleTimeout: idleTimeout ?? idleTimeoutMillis ?? 10_000,
      acquireTimeout: acquireTimeout ?? waitMs ?? '30s',
      connectTimeout: connectTimeout ?? waitMs ?? '10s',
      drainTimeout: drainTimeout ?? '30s',
      retryBackoff: retryBackoff ?? '500ms',
      rotationSurge: rotationSurge ?? 0,
    },
  };
}

/** The credentials chosen: the store's secret, or the given source. Throws CONFIG_INVALID. */
export function sourceOf(store: SecretStore | undefined, secret: string | undefined, credentials: CredentialSource<PgCredentials> | undefined): CredentialSource<unknown> {
  if (credentials !== undefined) {
    if (store !== undefined) throw new KeywardError('CONFIG_INVALID', 'give the pool either `store` and `secret`, or `credentials`, not both');
    return credentials;
  }
  if (store === undefined) throw new KeywardError('CONFIG_INVALID', 'the pool needs its credentials: `store` and `secret` (the declared name), or `credentials`');
  if (typeof secret !== 'string' || secret === '') throw new KeywardError('CONFIG_INVALID', 'the pool needs `secret`: the name its credentials are declared under in the store');
  return storeCredentials(store, secret);
}
