// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { isStandardSchema, describeIssue, type StandardSchemaV1 } from './standard-schema.js';
export { renderPathTemplate, DEFAULT_PATH_TEMPLATE } from './path-template.js';
export type { RefreshPolicy, SecretDeclaration, SecretDeclarations, SecretValueOf, IsOptional } from './secret-declaration.js';
