// Helpers for this package's specs and the Vault integration tests; not part of the published package (see tsconfig.json).
export * from './recording-proxy.js';
export * from './vault-admin.js';
