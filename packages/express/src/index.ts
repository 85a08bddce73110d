export { keywardSecrets, type SecretReader, type SecretsMiddleware } from './secrets.middleware.js';
export { keywardErrorHandler, type KeywardErrorHandlerOptions } from './error-handler.js';
export { keywardHealth, type KeywardHealthAnswer, type KeywardHealthOptions } from './health.handler.js';
export { requireApiKey, API_KEY_CHALLENGE, MAX_API_KEY_HEADER_LENGTH, type RequireApiKeyOptions } from './require-api-key.middleware.js';
export { auditFailClosed, auditRequests, type AuditHttpOptions } from './audit-requests.middleware.js';
export { secretScanningEndpoint } from './secret-scanning.middleware.js';
