// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export type { PoolDriver } from './pool-driver.js';
export { storeCredentials, type CredentialSource } from './credential-source.js';
export {
  type CredentialPoolOptions,
  type PooledConnection,
  type GenerationStats,
  type PoolStats,
  type CredentialPoolEvents,
  CredentialPool,
} from './credential-pool.js';
