export { createRotationHandler, type RotationEvent, type RotationHandler, type RotationHandlerOptions } from './rotation-handler.js';
export { RotationError, type RotationErrorCode } from './rotation-error.js';
export { parseDatabaseSecret, type DatabaseSecret } from './database-secret.js';
export type { ConnectOptions } from './database-engine.js';
export type { PasswordOptions, RotationStrategy } from './rotation-steps.js';
