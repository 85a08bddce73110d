export * from './pg-credentials.js';
export * from './pg-errors.js';
export * from './pg-driver.js';
export type { KeywardPgPoolOptions, PgCredentialsChoice, PgPoolSettings } from './pg-pool-options.js';
export * from './versioned-credentials.js';
export * from './keyward-pg-pool.js';
export * from './knex-connection.js';
export * from './typeorm-driver.js';
