// `@keyward/test-support/aws-rotation`: database targets and the rotation scenarios that test/aws-rotation-*.test.ts run against them.
export * from './database-target.js';
export * from './mariadb-target.js';
export * from './postgres-target.js';
export * from './rotation-fixture.js';
export * from './rotation-scenarios.js';
