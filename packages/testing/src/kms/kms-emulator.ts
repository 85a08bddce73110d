import { startAwsJsonServer, type JsonOperation } from '../aws-json-server.js';
import { cryptographicOperations } from './cryptographic-operations.js';
import { KmsError } from './errors.js';
import { keyManagementOperations } from './key-management.js';
import { keyRotationOperations } from './key-rotation.js';
import { KeyStore } from './key-store.js';
import type { KmsOperation } from './operation.js';

/**
 * Options of {@link startKmsEmulator}.
 *
 * @example
 * await startKmsEmulator({ region: 'eu-west-1', accountId: '111122223333', latencyMs: 20 });
 */
export interface KmsEmulatorOptions {
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Used in ARNs (default 'us-east-1'); requests signed for any region are accepted. */
  region?: string;
  /** Used in ARNs (default '123456789012'). */
  accountId?: string;
  /** Added to every reply (default 0). */
  latencyMs?: number;
}

/**
 * A running in-process AWS KMS emulator.
 *
 * @example
 * const client = new KMSClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
 * emulator.failNext(1, 'KMSInternalException', 'Decrypt');
 * await emulator.close();
 */
export interface KmsEmulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** The region in the emulator's ARNs (a client may sign for any). */
  readonly region: string;
  /** Credentials the SDK can use (any non-empty values work). */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Holds every reply back by `ms` from now on (a slow or distant KMS); 0 for none. */
  setLatency(ms: number): void;
  /**
   * The next `count` calls of `operation` (or of any operation) fail with this exception, with the
   * HTTP status KMS uses for it: KMSInternalException, DependencyTimeoutException (500),
   * ThrottlingException, LimitExceededException, AccessDeniedException (400)...
   */
  failNext(count: number, exception: string, operation?: string): void;
  /** An outage: stops listening and drops every connection (calls fail with ECONNREFUSED), keeping the keys, until `resume()`. */
  halt(): Promise<void>;
  /** Ends an outage: listens again on the same port, with the same keys. */
  resume(): Promise<void>;
  /** Closes the server and its connections (calls then fail with ECONNREFUSED); idempotent. */
  close(): Promise<void>;
}

const OPERATIONS: Readonly<Record<string, KmsOperation>> = {
  ...keyManagementOperations,
  ...cryptographicOperations,
  ...keyRotationOperations,
};

/**
 * Starts an in-process stand-in for AWS KMS on 127.0.0.1 that speaks the AWS JSON 1.1 protocol
 * the SDK uses (`X-Amz-Target: TrentService.<Operation>`) with KMS's exceptions and HTTP statuses.
 * Keys are symmetric (SYMMETRIC_DEFAULT) with real AES-256-GCM: each rotation adds key material
 * and the old material still decrypts; ciphertexts name their key and key material and are bound
 * to their encryption context. Signatures are accepted unverified.
 *
 * Operations: CreateKey, DescribeKey, CreateAlias, ListAliases, EnableKey, DisableKey,
 * ScheduleKeyDeletion, CancelKeyDeletion, Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
 * GenerateDataKeyWithoutPlaintext, EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
 * RotateKeyOnDemand, ListKeyRotations.
 *
 * @example
 * const emulator = await startKmsEmulator();
 * const kms = new KMSClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
 * const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
 * await kms.send(new RotateKeyOnDemandCommand({ KeyId: KeyMetadata!.KeyId }));
 * await emulator.close();
 */
export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const region = options.region ?? 'us-east-1';
  const store = new KeyStore(region, options.accountId ?? '123456789012');
  const operations = Object.fromEntries(
    Object.entries(OPERATIONS).map(([name, operation]): [string, JsonOperation] => [name, (body) => operation(store, body)]),
  );
  const server = await startAwsJsonServer({
    ...(options.port === undefined ? {} : { port: options.port }),
    targetPrefix: 'TrentService.',
    operations,
    error: (type, message) => new KmsError(type, message),
    reply: (err) => {
      const error = err instanceof KmsError ? err : new KmsError('KMSInternalException', 'An internal error occurred in the KMS emulator.');
      return { status: error.status, type: error.type, body: error.body() };
    },
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
  });
  return {
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId: 'AKIAEMULATOR0000TEST', secretAccessKey: 'emulator-secret-access-key-not-verified' },
    setLatency: (ms) => server.setLatency(ms),
    failNext: (count, exception, operation) => server.failNext(count, exception, operation),
    halt: () => server.halt(),
    resume: () => server.resume(),
    close: () => server.close(),
  };
}
