import { randomBytes } from 'node:crypto';
import type { RequestBody } from '../aws-json-server.js';
import { openBlob, parseBlob, sealBlob } from './ciphertext-blob.js';
import { incorrectKey, invalidCiphertext, KmsError, validation } from './errors.js';
import { currentMaterial, usable, type KeyMaterial, type KeyStore, type KmsKey } from './key-store.js';
import type { KmsOperation } from './operation.js';
import { encryptionContext, optionalBoolean, optionalEnum, optionalInteger, optionalString, requiredBlob, requiredString } from './request-fields.js';

const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';
const ALGORITHMS = [SYMMETRIC_DEFAULT, 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
const MAX_PLAINTEXT = 4096;
const MAX_CIPHERTEXT = 6144;

/** Only SYMMETRIC_DEFAULT fits a symmetric key: the asymmetric algorithms are InvalidKeyUsageException. */
function symmetricAlgorithm(body: RequestBody, field: string): typeof SYMMETRIC_DEFAULT {
  const algorithm = optionalEnum(body, field, ALGORITHMS) ?? SYMMETRIC_DEFAULT;
  if (algorithm !== SYMMETRIC_DEFAULT) {
    throw new KmsError('InvalidKeyUsageException', `The encryption algorithm ${algorithm} is not compatible with the KeySpec SYMMETRIC_DEFAULT of the KMS key.`);
  }
  return algorithm;
}

/** Recipient (Nitro enclave attestation) is not emulated. */
function noRecipient(body: RequestBody): void {
  if (body['Recipient'] !== undefined && body['Recipient'] !== null) {
    throw new KmsError('UnsupportedOperationException', 'Recipient (attested enclaves) is not supported by the KMS emulator.');
  }
}

/** DryRun answers DryRunOperationException once every check has passed, as KMS does. */
function dryRun(body: RequestBody): void {
  if (optionalBoolean(body, 'DryRun') === true) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

interface Decrypted {
  readonly key: KmsKey;
  readonly material: KeyMaterial;
  readonly plaintext: Buffer;
}

/**
 * Decrypt's rules (ReEncrypt's source side too): the blob names its key and key material; a KeyId
 * in the request must be that key (IncorrectKeyException, whether or not the blob's key exists);
 * without one, a blob naming no existing key is AccessDeniedException; the key must be usable; the
 * material and the encryption context must authenticate (InvalidCiphertextException).
 */
function decryptBlob(store: KeyStore, blob: Buffer, context: Record<string, string>, keyId: string | undefined): Decrypted {
  const parsed = parseBlob(blob);
  const named = keyId === undefined ? undefined : store.get(keyId);
  if (named !== undefined && named.id !== parsed.keyId) throw incorrectKey();
  const key = store.find(parsed.keyId);
  if (key === undefined) {
    throw new KmsError(
      'AccessDeniedException',
      'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
    );
  }
  usable(key);
  const material = key.materials.find((m) => m.id === parsed.materialId);
  if (material === undefined) throw invalidCiphertext();
  return { key, material, plaintext: openBlob(parsed, material, context) };
}

/** The request's key for encrypting, by key ID, key ARN, alias name or alias ARN, refused unless Enabled. */
const encryptingKey = (store: KeyStore, body: RequestBody, field = 'KeyId'): KmsKey => usable(store.get(requiredString(body, field)));

const encrypt: KmsOperation = (store, body) => {
  const key = encryptingKey(store, body);
  const plaintext = requiredBlob(body, 'Plaintext', MAX_PLAINTEXT);
  const context = encryptionContext(body, 'EncryptionContext');
  const algorithm = symmetricAlgorithm(body, 'EncryptionAlgorithm');
  dryRun(body);
  const blob = sealBlob(key, currentMaterial(key), plaintext, context);
  plaintext.fill(0);
  // The API Reference's EncryptResponse has no KeyMaterialId (Decrypt, GenerateDataKey and ReEncrypt do).
  return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: algorithm };
};

const decrypt: KmsOperation = (store, body) => {
  noRecipient(body);
  const blob = requiredBlob(body, 'CiphertextBlob', MAX_CIPHERTEXT);
  const context = encryptionContext(body, 'EncryptionContext');
  const algorithm = symmetricAlgorithm(body, 'EncryptionAlgorithm');
  const { key, material, plaintext } = decryptBlob(store, blob, context, optionalString(body, 'KeyId'));
  dryRun(body);
  const encoded = plaintext.toString('base64');
  plaintext.fill(0);
  return { KeyId: key.arn, Plaintext: encoded, EncryptionAlgorithm: algorithm, KeyMaterialId: material.id };
};

const reEncrypt: KmsOperation = (store, body) => {
  const blob = requiredBlob(body, 'CiphertextBlob', MAX_CIPHERTEXT);
  const destinationId = requiredString(body, 'DestinationKeyId');
  const sourceAlgorithm = symmetricAlgorithm(body, 'SourceEncryptionAlgorithm');
  const destinationAlgorithm = symmetricAlgorithm(body, 'DestinationEncryptionAlgorithm');
  const destination = store.get(destinationId);
  const source = decryptBlob(store, blob, encryptionContext(body, 'SourceEncryptionContext'), optionalString(body, 'SourceKeyId'));
  try {
    usable(destination);
    dryRun(body);
    const material = currentMaterial(destination);
    const sealed = sealBlob(destination, material, source.plaintext, encryptionContext(body, 'DestinationEncryptionContext'));
    return {
      CiphertextBlob: sealed.toString('base64'),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: sourceAlgorithm,
      DestinationEncryptionAlgorithm: destinationAlgorithm,
      SourceKeyMaterialId: source.material.id,
      DestinationKeyMaterialId: material.id,
    };
  } finally {
    source.plaintext.fill(0);
  }
};

const DATA_KEY_SPECS = { AES_256: 32, AES_128: 16 } as const;

/** GenerateDataKey with or without the plaintext in the answer: exactly one of KeySpec and NumberOfBytes. */
const generateDataKey =
  (withPlaintext: boolean): KmsOperation =>
  (store, body) => {
    if (withPlaintext) noRecipient(body);
    const key = encryptingKey(store, body);
    const context = encryptionContext(body, 'EncryptionContext');
    const numberOfBytes = optionalInteger(body, 'NumberOfBytes', 1, 1024);
    const keySpec = optionalEnum(body, 'KeySpec', ['AES_256', 'AES_128'] as const);
    if ((numberOfBytes === undefined) === (keySpec === undefined)) throw validation('Please specify either number of bytes or key spec.');
    dryRun(body);
    const plaintext = randomBytes(numberOfBytes ?? DATA_KEY_SPECS[keySpec!]);
    const material = currentMaterial(key);
    const blob = sealBlob(key, material, plaintext, context);
    const encoded = withPlaintext ? plaintext.toString('base64') : undefined;
    plaintext.fill(0);
    return {
      CiphertextBlob: blob.toString('base64'),
      ...(encoded === undefined ? {} : { Plaintext: encoded }),
      KeyId: key.arn,
      KeyMaterialId: material.id,
    };
  };

export const cryptographicOperations: Readonly<Record<string, KmsOperation>> = {
  Encrypt: encrypt,
  Decrypt: decrypt,
  ReEncrypt: reEncrypt,
  GenerateDataKey: generateDataKey(true),
  GenerateDataKeyWithoutPlaintext: generateDataKey(false),
};
