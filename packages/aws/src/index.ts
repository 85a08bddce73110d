export { awsSecretsManager, type AwsSecretsManagerOptions } from './secrets-manager.provider.js';
export type { SecretsManagerClientChoice } from './client-options.js';
export type { SecretJsonMode } from './secret-value.js';
export { SecretsManagerFailure } from './secrets-manager-errors.js';
export { secretsManagerKeyRing, type SecretsManagerKeyRingOptions } from './secrets-manager-key-ring.js';
export { awsKmsKek, type AwsKmsKekOptions } from './kms-kek.js';
