export * from './free-port.js';
export * from './embedded-postgres.js';
export * from './vault/index.js';
export * from './secrets-manager/index.js';
