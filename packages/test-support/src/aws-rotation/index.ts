// Helpers for the rotation scenario tests in test/; not part of the published package (see tsconfig.json).
export * from './database-target.js';
export * from './mariadb-target.js';
export * from './postgres-target.js';
export * from './rotation-fixture.js';
export * from './rotation-scenarios.js';
