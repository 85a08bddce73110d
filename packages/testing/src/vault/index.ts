export * from './vault-dev-server.js';
