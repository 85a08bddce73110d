export * from './secrets.middleware.js';
export * from './error-handler.js';
export * from './health.handler.js';
export * from './require-api-key.middleware.js';
export * from './audit-requests.middleware.js';
