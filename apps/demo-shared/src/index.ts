export * from './secrets.js';
export * from './database.js';
export * from './backends.js';
export * from './aws-backends.js';
export * from './api-keys.js';
