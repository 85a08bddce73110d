export * from './vault-auth.js';
export * from './token.auth.js';
export * from './approle.auth.js';
export * from './kubernetes.auth.js';
