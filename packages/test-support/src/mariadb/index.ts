// Helpers for the mysql2 package's tests (test/mysql2-*.test.ts); not part of the published package.
export * from './mariadb-sandbox.js';
export * from './query-load.js';
export * from './leased-logins.js';
export * from './eventually.js';
