export * from './secret.js';
export * from './redact.js';
export * from './redacted.js';
