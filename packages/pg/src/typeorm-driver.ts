import pg from 'pg';
import { KeywardPgPool } from './keyward-pg-pool.js';
import type { PgConnectionOptions } from './pg-connection-options.js';
import type { PgCredentialsChoice, PgPoolSettings } from './pg-pool-options.js';

/**
 * Options of `typeormDriver`: where the credentials come from, and settings of the pool that win
 * over those TypeORM passes (`drainTimeout`, an `applicationName` function, `min`…).
 */
export type TypeormDriverOptions = PgCredentialsChoice & PgConnectionOptions & PgPoolSettings;

/** The `pg` module with its `Pool` replaced by one on Keyward's credentials. */
export type PgModuleWithKeywardPool = Omit<typeof pg, 'Pool'> & {
  Pool: new (config?: pg.PoolConfig) => KeywardPgPool;
};

/**
 * A `pg` module for TypeORM's `driver` option (or any library that takes the `pg` module): its
 * `Pool` is a `KeywardPgPool` built from the options TypeORM gives it (host, port, database,
 * ssl, `poolSize`, `extra`…) without its user and password, which come from the secret and rotate
 * with no failed query. The rest (`types`, `Client`, `defaults`…) is `pg`'s own.
 *
 * TypeORM needs no `username`/`password` then; any it is given are ignored. Call
 * `dataSource.destroy()` before `store.close()`, so that the last lease outlives its clients.
 *
 * @example
 * const dataSource = new DataSource({
 *   type: 'postgres',
 *   driver: typeormDriver({ store, secret: 'database', drainTimeout: '1m' }),
 *   host: 'db.internal', port: 5432, database: 'billing', entities: [Invoice],
 * });
 * await dataSource.initialize();
 */
export function typeormDriver(options: TypeormDriverOptions): PgModuleWithKeywardPool {
  class Pool extends KeywardPgPool {
    constructor(config: pg.PoolConfig = {}) {
      // TypeORM sets every field, undefined when not configured: those must not hide the defaults.
      const { user: _user, password: _password, ...given } = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as pg.PoolConfig;
      super({ ...given, ...options } as TypeormDriverOptions);
    }
  }
  return { ...pg, Pool };
}
