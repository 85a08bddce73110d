export * from './vault-dev-server.js';
export * from './postgres-engine-setup.js';
