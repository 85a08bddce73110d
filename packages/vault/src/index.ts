export * from './vault-connection.js';
export { VaultRequestError, type VaultCall } from './vault-errors.js';
export type { VaultTlsOptions } from './vault-transport.js';
export * from './kv.provider.js';
export * from './database-credentials.provider.js';
export * from './auth/index.js';
export * from './kv-key-ring.js';
