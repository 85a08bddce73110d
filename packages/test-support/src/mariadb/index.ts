// `@keyward/test-support/mariadb`: a sandbox database and user on the local MariaDB, query load, leased logins (test/mysql2-*, aws-rotation).
export * from './mariadb-sandbox.js';
export * from './query-load.js';
export * from './leased-logins.js';
export * from './eventually.js';
