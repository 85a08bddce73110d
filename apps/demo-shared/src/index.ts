export * from './secrets.js';
export * from './database.js';
export * from './api-keys.js';
export * from './partner-webhooks.js';
export * from './envelope-kek.js';
export * from './status.js';
export * from './metrics.js';
export * from './payments.js';
