export * from './rotation-handler.js';
export { RotationError, type RotationErrorCode } from './rotation-error.js';
export * from './database-secret.js';
export type { ConnectOptions } from './database-engine.js';
export type { PasswordOptions, RotationStrategy } from './rotation-steps.js';
