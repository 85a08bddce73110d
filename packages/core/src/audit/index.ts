export * from './audit-record.js';
export * from './audit-keys.js';
export * from './audit-file.transport.js';
export * from './audit-trail.js';
export * from './verify-audit.js';
export * from './audit-context.js';
export * from './audit-http.js';
export * from './audit-sources.js';
