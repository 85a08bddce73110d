export { KeywardPgPool, createPgPool, type ConnectCallback, type KeywardPgPoolEvents } from './keyward-pg-pool.js';
export type { KeywardPgPoolOptions, PgCredentialsChoice, PgPoolSettings } from './pg-pool-options.js';
export { pgLogin, type PgCredentials, type PgLogin } from './pg-credentials.js';
export { isBrokenConnection, isPgAuthFailure } from './pg-errors.js';
export { pgDriver, type PgConnectionOptions, type PgDriverHooks, type PgSessionInfo } from './pg-driver.js';
export { knexConnection, type KnexConnectionOptions, type KnexPgConnectionConfig } from './knex-connection.js';
export { typeormDriver, type PgModuleWithKeywardPool, type TypeormDriverOptions } from './typeorm-driver.js';
