// The public API of @keyward/core: what apps, adapter authors (providers, pool drivers, key
// ring backends) and framework packages use. Everything else is internal to the package.
export { KeywardError, isKeywardError, type KeywardErrorCode, type KeywardErrorOptions } from './errors/keyward-error.js';
export { SecretsUnavailableError, type SecretProblem } from './errors/bootstrap-error.js';
export { httpAnswerFor, type HttpAnswer } from './errors/http-answer.js';
export { Secret, type RawSecretValue, type SecretLease, type SecretMetadata } from './secret/secret.js';
export { Redacted } from './secret/redacted.js';
export { parseDuration, type Duration } from './util/duration.js';
export { deadlineSignal, untilAborted, watchAbort, withJitter, type DeadlineSignal } from './util/concurrency.js';

export type { StandardSchemaV1 } from './declarations/standard-schema.js';
export { DEFAULT_PATH_TEMPLATE } from './declarations/path-template.js';
export type { IsOptional, RefreshPolicy, SecretDeclaration, SecretDeclarations, SecretValueOf } from './declarations/secret-declaration.js';

export {
  UNCHANGED,
  type ProviderStartContext,
  type ReadContext,
  type ReadResult,
  type SecretPayload,
  type SecretProvider,
  type SecretRef,
} from './providers/secret-provider.js';
export { envProvider, type EnvProviderOptions } from './providers/env.provider.js';
export { dotenvProvider, type DotenvProviderOptions } from './providers/dotenv.provider.js';
export { fileProvider, type FileProviderOptions } from './providers/file.provider.js';

export { SecretStore, createSecretStore, type SecretFor } from './store/secret-store.js';
export type { EnvironmentSource, ProviderSet, ProvidersByEnvironment, SecretStoreOptions, StoreEnvironment } from './store/store-options.js';
export type { RefreshScheduler } from './store/refresh-scheduler.js';
export type {
  LeaseEvent,
  RefreshReason,
  SecretAccessEvent,
  SecretRecoveredEvent,
  SecretRefreshedEvent,
  SecretRefreshFailedEvent,
  SecretRotatedEvent,
  SecretStaleEvent,
  SecretStoreEvents,
} from './store/store-events.js';
export type { HealthStatus, SecretHealth, StoreHealth } from './store/store-health.js';

export {
  CredentialPool,
  type CredentialPoolEvents,
  type CredentialPoolOptions,
  type GenerationStats,
  type PooledConnection,
  type PoolStats,
} from './pool/credential-pool.js';
export type { PoolDriver } from './pool/pool-driver.js';
export { storeCredentials, type CredentialSource } from './pool/credential-source.js';

export { generateApiKey, parseApiKey, type IssuedApiKey, type ParsedApiKey } from './api-keys/api-key-format.js';
export { hashApiKey, type Pepper } from './api-keys/api-key-hash.js';
export { ApiKeyScopeError } from './api-keys/api-key-scope.error.js';
export { emptyKeyRing, parseKeyRing, type ApiKeyStatus, type KeyRing, type KeyRingEntry } from './api-keys/key-ring.js';
export {
  apiKeyRefusalError,
  createApiKeyVerifier,
  type ApiKeyCheck,
  type ApiKeyRefusalCode,
  type ApiKeyVerifier,
  type ApiKeyResult,
  type ApiKeyVerifierOptions,
  type ApiKeyVerifierStats,
  type PreviousKeyUsage,
  type VerifiedApiKey,
} from './api-keys/api-key-verifier.js';
export {
  createApiKey,
  pruneKeyRing,
  revokeApiKey,
  rotateApiKey,
  type CreateApiKeyOptions,
  type KeyRingChange,
  type RotateApiKeyOptions,
} from './api-keys/key-rotation.js';
export {
  API_KEY_CHALLENGE,
  MAX_API_KEY_HEADER_LENGTH,
  apiKeyChallenge,
  apiKeyDeprecationHeaders,
  presentedApiKey,
  type PresentedApiKey,
} from './api-keys/presented-api-key.js';
export type { KeyRingBackend, KeyRingChangeNotice, StoredKeyRing } from './api-keys/key-ring-backend.js';
export { keyRingAdmin, type IssuedKeyRingWrite, type KeyRingAdmin, type KeyRingAdminOptions, type KeyRingWrite } from './api-keys/key-ring-admin.js';
export { fileKeyRing, type FileKeyRingOptions } from './api-keys/file-key-ring.js';

export type { AuditActor, AuditEntry, AuditHttp, AuditRecord, AuditSecretRead } from './audit/audit-record.js';
export { auditHash, deriveAuditKeys, type AuditKey, type AuditKeys } from './audit/audit-keys.js';
export { AuditFileTransport } from './audit/audit-file.transport.js';
export { createAuditTrail, type AuditFailureCode, type AuditHealth, type AuditTrail, type AuditTrailOptions, type SensitiveField } from './audit/audit-trail.js';
export { verifyAuditFile, type AuditChainBreak, type AuditKeptHead, type AuditVerification, type VerifyAuditOptions } from './audit/verify-audit.js';
export { currentAuditContext, noteAuditError, noteAuditPrincipal, type RequestAuditContext } from './audit/audit-context.js';
export { auditHttp, failClosedNow, type AuditHttpOptions, type Next as ConnectNext } from './audit/audit-http.js';
export { auditKeyRing, auditPool, auditStore } from './audit/audit-sources.js';

export type { EncryptionContext, GeneratedDataKey, KekCallOptions, KekProvider, KekReference, WrappedDataKey } from './envelope/kek-provider.js';
export { ENVELOPE_PREFIX, parseEnvelope, type EnvelopeJson, type EnvelopeParts, type SealedEnvelope } from './envelope/envelope-format.js';
export type { DataKeyCacheOptions } from './envelope/data-key-cache.js';
export { canonicalContext } from './envelope/encryption-context.js';
export { localKek, type LocalKekOptions, type LocalKeySet } from './envelope/local-kek.js';
export {
  createEnvelope,
  type EncryptOptions,
  type Envelope,
  type EnvelopeCallOptions,
  type EnvelopeOptions,
} from './envelope/create-envelope.js';
export type { RewrapAllOptions, RewrapItem, RewrapProgress, RewrapSummary } from './envelope/rewrap-all.js';

export { keywardHealthReport, type AuditCheck, type KeywardHealthReport, type KeywardHealthSources, type PoolCheck, type StoreCheck } from './health/keyward-health.js';
/** `safeEmit(emitter, source)`: an `emit` whose throwing listeners become process warnings; e.g. `readonly #emit = safeEmit(this, 'PostgreSQL pool')`. */
export { safeEmit, type SafeEmit } from './util/safe-emit.js';

export { keywardMetrics, type KeywardMetrics, type KeywardMetricsOptions, type KeywardMetricsSources, type MeteredPool } from './metrics/keyward-metrics.js';
export { refreshable, type Refreshable, type RefreshableEvents, type RefreshableOptions } from './refresh/refreshable.js';
export {
  GITHUB_SECRET_SCANNING_KEYS_URL,
  githubSecretScanningKeys,
  memoryReplayGuard,
  secretScanningHandler,
  type GitHubSecretScanningKeysOptions,
  type ReplayGuard,
  type SecretScanningHandler,
  type SecretScanningKeys,
  type SecretScanningLabel,
  type SecretScanningMatch,
  type SecretScanningOptions,
  type SecretScanningRequest,
  type SecretScanningResponse,
} from './api-keys/secret-scanning.js';
export {
  checkTlsCertificate,
  sniCallback,
  tlsFromSecret,
  TlsRefusal,
  type CheckTlsCertificateOptions,
  type ClientTlsOptions,
  type SecureContextTarget,
  type SniCallback,
  type TlsCertificateInfo,
  type TlsConnector,
  type TlsConnectorOptions,
  type TlsContextOptions,
  type TlsFromSecret,
  type TlsFromSecretEvents,
  type TlsFromSecretOptions,
  type TlsHealth,
  type TlsProblem,
} from './tls/index.js';
