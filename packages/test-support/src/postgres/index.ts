// Helpers for this package's specs and the pg scenario tests in test/; not part of the published package (see tsconfig.json).
export * from './database.js';
export * from './scenario-pool.js';
export * from './workload.js';
