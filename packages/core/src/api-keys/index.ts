export * from './api-key-format.js';
export * from './api-key-hash.js';
export * from './api-key-scope.error.js';
export * from './key-ring.js';
export * from './api-key-verifier.js';
export * from './key-rotation.js';
export * from './presented-api-key.js';
