export * from './secret.js';
export * from './redact.js';
