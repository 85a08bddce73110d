// `@keyward/test-support/vault`: a recording proxy in front of Vault and an admin client for its dev server (test/vault-*).
export * from './recording-proxy.js';
export * from './vault-admin.js';
