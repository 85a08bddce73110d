export { MysqlPool, createMysqlPool, type MysqlGenerationStats, type MysqlPoolEvents, type MysqlPoolStats } from './mysql-pool.js';
export type { MysqlPoolCredentials, MysqlPoolOptions } from './mysql-pool-options.js';
export { MysqlPoolConnection } from './mysql-pool-connection.js';
export { mysqlLogin, type MysqlCredentials } from './mysql-credentials.js';
export { isMysqlAuthFailure, MYSQL_AUTH_FAILURE_ERRNOS } from './mysql-auth-failure.js';
export { mysqlDriver, type MysqlConnectionSettings, type MysqlDriverHooks } from './mysql-driver.js';
