export { freePort } from './free-port.js';
export { startEmbeddedPostgres, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded-postgres.js';
export { startVaultDevServer, type VaultDevServer, type VaultDevServerOptions } from './vault/vault-dev-server.js';
export { CREATE_LEASED_ROLE, mountPostgresEngine, type PostgresEngineRole } from './vault/postgres-engine-setup.js';
export { mountPkiEngine, type PkiEngineRole } from './vault/pki-engine-setup.js';
export { testCertificate, type TestCertificate, type TestCertificateRequest } from './test-certificate.js';
export {
  startSecretsManagerEmulator,
  type RotationEvent,
  type RotationHandler,
  type SecretsManagerEmulator,
  type SecretsManagerEmulatorOptions,
} from './secrets-manager/secrets-manager-emulator.js';
export { startKmsEmulator, type KmsEmulator, type KmsEmulatorOptions } from './kms/kms-emulator.js';
