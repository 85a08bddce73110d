import type pg from 'pg';
import { pgClientConfig } from './pg-client-config.js';
import type { PgConnectionOptions } from './pg-connection-options.js';
import { sourceOf, type PgCredentialsChoice } from './pg-pool-options.js';
import { versionedCredentials } from './versioned-credentials.js';

/** Options of `knexConnection`: where the credentials come from, and where and how to connect. */
export type KnexConnectionOptions = PgCredentialsChoice & PgConnectionOptions;

/**
 * What Knex's `connection` function resolves to: a pg client config, and when to ask again.
 * `stream` and `types` are left out of the type (not the value) only because Knex's typings of
 * them disagree with `pg`'s.
 */
export type KnexPgConnectionConfig = Omit<pg.ClientConfig, 'stream' | 'types'> & {
  /** True once the secret's version is not the one this config was built from. */
  expirationChecker: () => boolean;
};

/**
 * The `connection` function Knex (`client: 'pg'`) takes: it resolves to the secret's current
 * user and password with the connection settings, and an `expirationChecker` that says "expired"
 * once the secret's version changed, so that Knex asks again before it opens its next connection
 * (and, at a checkout that finds it expired, discards that one connection).
 *
 * Knex's own pool (tarn) keeps the connections it already has: they are closed by its
 * `idleTimeoutMillis` or `maxConnectionLifetimeMillis`, not by the rotation. That is fine when
 * one user's password changes (PostgreSQL keeps open sessions). With dynamic users (Vault) the
 * old lease must outlive Knex's connections: set `pool.maxConnectionLifetimeMillis` well under
 * the time between a rotation and the old lease's revocation, or revoked sessions fail their
 * queries. For rotations that wait for the old connections, use `KeywardPgPool` instead.
 * Between a password change on the database and the store's refresh, a new login is refused:
 * `pool.propagateCreateError: false` lets tarn try again (with the next config) instead of
 * failing the query.
 *
 * @example
 * const db = knex({
 *   client: 'pg',
 *   connection: knexConnection({ store, secret: 'database', host: 'db.internal', port: 5432, database: 'billing' }),
 *   pool: { min: 0, max: 10, idleTimeoutMillis: 10_000, maxConnectionLifetimeMillis: 60_000, propagateCreateError: false },
 * });
 */
export function knexConnection(options: KnexConnectionOptions): () => Promise<KnexPgConnectionConfig> {
  const { store, secret, credentials, ...connection } = options;
  const source = sourceOf(store, secret, credentials);
  const versioned = versionedCredentials(source);
  return async () => {
    const current = versioned.current();
    return {
      ...pgClientConfig(connection, current.reveal()),
      expirationChecker: () => {
        try {
          return source.current().version !== current.version;
        } catch {
          // The secret went away: asking again gives the error where a connection is opened.
          return true;
        }
      },
    };
  };
}
