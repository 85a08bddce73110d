// `@keyward/test-support/postgres`: embedded PostgreSQL roles and sessions, a pool over a memory store, a query workload (pg specs, test/pg-* and orm-*).
export * from './database.js';
export * from './scenario-pool.js';
export * from './workload.js';
