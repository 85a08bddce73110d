// Native ESM (NestJS 12 is ESM-only): run through `pnpm test`, which sets --experimental-vm-modules.
// Tests import sibling packages from their sources (the `@keyward/source` condition), so no build is needed first.
/** @type {import('jest').Config} */
const config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  // test/consumers holds apps that run their own jest after an npm install (pnpm test:consumers).
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  // Workspace packages resolve through their `@keyward/source` export condition to `src/index.ts`.
  testEnvironmentOptions: { customExportConditions: ['@keyward/source', 'node', 'node-addons'] },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testTimeout: 20_000,
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
};

export default config;
