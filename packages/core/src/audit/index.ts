// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export {
  sealAuditLine,
  unsealAuditLine,
  chainHash,
  type AuditActor,
  type AuditSecretRead,
  type AuditHttp,
  type AuditEntry,
  type AuditRecord,
  AUDIT_GENESIS,
} from './audit-record.js';
export { deriveAuditKeys, auditHash, type AuditKey, type AuditKeys } from './audit-keys.js';
export { AuditFileTransport } from './audit-file.transport.js';
export { readAuditTail, TRAIL_RESUMED, type ResumePoint, type ResumeReason } from './trail-resumed.js';
export { createAuditTrail, type AuditTrailOptions, type SensitiveField, type AuditFailureCode, type AuditHealth, type AuditTrail } from './audit-trail.js';
export { verifyAuditFile, type AuditChainBreak, type AuditKeptHead, type AuditVerification, type VerifyAuditOptions } from './verify-audit.js';
export { currentAuditContext, runWithAuditContext, noteAuditError, noteAuditPrincipal, type RequestAuditContext } from './audit-context.js';
export { auditHttp, failClosedNow, type AuditHttpOptions, type Next } from './audit-http.js';
export { auditStore, auditPool, auditKeyRing } from './audit-sources.js';
