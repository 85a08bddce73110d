export * from './errors/index.js';
export * from './secret/index.js';
export * from './util/index.js';
export * from './declarations/index.js';
export * from './providers/index.js';
export * from './store/index.js';
export * from './pool/index.js';
export * from './api-keys/index.js';
