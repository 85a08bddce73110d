export * from './errors/index.js';
export * from './secret/index.js';
export * from './util/index.js';
export * from './declarations/index.js';
export * from './providers/index.js';
export * from './store/index.js';
export * from './pool/index.js';
export * from './api-keys/index.js';
export * from './audit/index.js';
export { keywardHealthReport, type AuditCheck, type KeywardHealthReport, type KeywardHealthSources, type PoolCheck, type StoreCheck } from './health/keyward-health.js';
/** `safeEmit(emitter, source)`: an `emit` whose throwing listeners become process warnings; e.g. `readonly #emit = safeEmit(this, 'PostgreSQL pool')`. */
export { safeEmit, type SafeEmit } from './util/safe-emit.js';
