// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { generateApiKey, parseApiKey, isApiKeyId, MAX_API_KEY_LENGTH, type ParsedApiKey, type IssuedApiKey } from './api-key-format.js';
export { hashApiKey, type Pepper } from './api-key-hash.js';
export { ApiKeyScopeError } from './api-key-scope.error.js';
export { emptyKeyRing, parseKeyRing, type ApiKeyStatus, type KeyRingEntry, type KeyRing } from './key-ring.js';
export {
  apiKeyRefusalError,
  createApiKeyVerifier,
  type ApiKeyCheck,
  type ApiKeyRefusalCode,
  type ApiKeyResult,
  type ApiKeyVerifierOptions,
  type ApiKeyVerifierStats,
  type VerifiedApiKey,
  type PreviousKeyUsage,
  type ApiKeyVerifier,
} from './api-key-verifier.js';
export {
  createApiKey,
  rotateApiKey,
  revokeApiKey,
  pruneKeyRing,
  type KeyRingChange,
  type CreateApiKeyOptions,
  type RotateApiKeyOptions,
} from './key-rotation.js';
export {
  presentedApiKey,
  apiKeyDeprecationHeaders,
  apiKeyChallenge,
  MAX_API_KEY_HEADER_LENGTH,
  API_KEY_CHALLENGE,
  type PresentedApiKey,
} from './presented-api-key.js';
export type { StoredKeyRing, KeyRingBackend, KeyRingChangeNotice } from './key-ring-backend.js';
export { keyRingAdmin, type KeyRingAdminOptions, type KeyRingWrite, type IssuedKeyRingWrite, type KeyRingAdmin } from './key-ring-admin.js';
export { fileKeyRing, type FileKeyRingOptions } from './file-key-ring.js';
