export * from './secrets.js';
export * from './database.js';
export * from './api-keys.js';
