export * from './free-port.js';
export * from './embedded-postgres.js';
