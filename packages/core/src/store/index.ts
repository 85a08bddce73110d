// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { type RefreshScheduler, timerScheduler } from './refresh-scheduler.js';
export {
  currentEnvironment,
  type EnvironmentSource,
  isProvider,
  selectProvider,
  type ProviderSet,
  type ProvidersByEnvironment,
  type SecretStoreOptions,
  type StoreEnvironment,
} from './store-options.js';
export type {
  RefreshReason,
  SecretRotatedEvent,
  SecretRefreshFailedEvent,
  SecretStaleEvent,
  SecretRecoveredEvent,
  SecretRefreshedEvent,
  LeaseEvent,
  SecretAccessEvent,
  SecretStoreEvents,
} from './store-events.js';
export { summarizeHealth, type HealthStatus, type SecretHealth, type StoreHealth } from './store-health.js';
export { createSecretStore, type SecretFor, SecretStore } from './secret-store.js';
