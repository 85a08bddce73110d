export * from './standard-schema.js';
export * from './path-template.js';
export * from './secret-declaration.js';
