export * from './mysql-credentials.js';
export * from './mysql-auth-failure.js';
export * from './mysql-driver.js';
export * from './mysql-pool-connection.js';
export * from './mysql-pool-options.js';
export * from './mysql-pool.js';
