export {
  VaultConnection,
  createVaultConnection,
  type VaultAnswer,
  type VaultConnectionChoice,
  type VaultConnectionEvents,
  type VaultConnectionOptions,
  type VaultRequest,
} from './vault-connection.js';
export { VaultRequestError, type VaultCall, type VaultFailureDetails } from './vault-errors.js';
export type { Pem, VaultTlsOptions } from './vault-transport.js';
export { vaultKv, type VaultKvOptions } from './kv.provider.js';
export { vaultDatabaseCredentials, type VaultDatabaseCredentialsOptions } from './database-credentials.provider.js';
export { vaultPkiCertificate, type VaultPkiCertificateOptions } from './pki-certificate.provider.js';
export { tokenFromLogin, type VaultAuth, type VaultAuthContext, type VaultAuthRequest, type VaultLoginOptions, type VaultToken } from './auth/vault-auth.js';
export { tokenAuth, type TokenAuthOptions } from './auth/token.auth.js';
export { appRoleAuth, type AppRoleAuthOptions } from './auth/approle.auth.js';
export { kubernetesAuth, SERVICE_ACCOUNT_TOKEN_FILE, type KubernetesAuthOptions } from './auth/kubernetes.auth.js';
export { vaultKeyRing, type VaultKeyRingOptions } from './kv-key-ring.js';
export { vaultTransitKek, type VaultTransitKek, type VaultTransitKekOptions } from './transit-kek.js';
