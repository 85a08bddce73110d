export * from './client-options.js';
export * from './secret-value.js';
export * from './secrets-manager-errors.js';
export * from './secrets-manager.provider.js';
export * from './secrets-manager-key-ring.js';
