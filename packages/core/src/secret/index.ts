// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { type RawSecretValue, type SecretMetadata, type SecretLease, Secret } from './secret.js';
export { redactValues } from './redact.js';
export { Redacted } from './redacted.js';
