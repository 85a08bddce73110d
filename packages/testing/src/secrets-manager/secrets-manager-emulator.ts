import { startAwsJsonServer, type JsonOperation } from '../aws-json-server.js';
import { SecretsManagerError, statusOf } from './errors.js';
import type { EmulatorContext, Operation, RotationHandler } from './operation.js';
import { randomPasswordOperations } from './random-password.js';
import { rotationOperations } from './rotation.js';
import { secretDeletionOperations } from './secret-deletion.js';
import { secretListingOperations } from './secret-listing.js';
import { SecretStore } from './secret-store.js';
import { secretValueOperations } from './secret-values.js';
import { versionStageOperations } from './version-stages.js';

export type { RotationEvent, RotationHandler } from './operation.js';

/**
 * Options of {@link startSecretsManagerEmulator}.
 *
 * @example
 * await startSecretsManagerEmulator({ region: 'eu-west-1', accountId: '111122223333', latencyMs: 20 });
 */
export interface SecretsManagerEmulatorOptions {
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
 * A running in-process AWS Secrets Manager emulator.
 *
 * @example
 * const client = new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
 * emulator.failNext(1, 'ThrottlingException', 'GetSecretValue');
 * await emulator.close();
 */
export interface SecretsManagerEmulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly region: string;
  /** Credentials the SDK can use (any non-empty values work). */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Registers the rotation function RotateSecret calls, step by step, as AWS calls the Lambda. */
  setRotationHandler(handler: RotationHandler): void;
  setLatency(ms: number): void;
  /** The next `count` calls of `operation` (or any) fail with this exception (fault injection: ThrottlingException, InternalServiceError, AccessDeniedException, DecryptionFailure...). */
  failNext(count: number, exception: string, operation?: string): void;
  /** An outage: stops listening and drops every connection (calls are refused), keeping every secret, until `resume()`. */
  halt(): Promise<void>;
  /** Listens again on the same port after `halt()`. */
  resume(): Promise<void>;
  /** Closes the server and its connections; idempotent. */
  close(): Promise<void>;
}

const OPERATIONS: Readonly<Record<string, Operation>> = {
  ...secretValueOperations,
  ...secretListingOperations,
  ...versionStageOperations,
  ...secretDeletionOperations,
  ...rotationOperations,
  ...randomPasswordOperations,
};


/**
 * Starts an in-process stand-in for AWS Secrets Manager on 127.0.0.1 that speaks the AWS JSON 1.1
 * protocol the SDK uses (`X-Amz-Target: secretsmanager.<Operation>`), with AWS's error types and
 * staging-label rules. Signatures are accepted unverified.
 *
 * @example
 * const emulator = await startSecretsManagerEmulator();
 * const client = new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
 * await client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{"password":"x"}' }));
 * await emulator.close();
 */
export async function startSecretsManagerEmulator(options: SecretsManagerEmulatorOptions = {}): Promise<SecretsManagerEmulator> {
  const region = options.region ?? 'us-east-1';
  const context: EmulatorContext = { store: new SecretStore(region, options.accountId ?? '123456789012') };
  const operations = Object.fromEntries(
    Object.entries(OPERATIONS).map(([name, operation]): [string, JsonOperation] => [name, (body) => operation(context, body as Record<string, unknown>)]),
  );
  const server = await startAwsJsonServer({
    ...(options.port === undefined ? {} : { port: options.port }),
    targetPrefix: 'secretsmanager.',
    operations,
    error: (type, message) => new SecretsManagerError(type, message, statusOf(type)),
    reply: (err) => {
      const error = err instanceof SecretsManagerError ? err : new SecretsManagerError('InternalServiceError', 'An error occurred on the server side.', 500);
      return { status: error.status, type: error.type, body: { __type: error.type, message: error.message } };
    },
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
  });
  return {
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId: 'AKIAEMULATOR0000TEST', secretAccessKey: 'emulator-secret-access-key-not-verified' },
    setRotationHandler(handler) {
      context.rotationHandler = handler;
    },
    setLatency: (ms) => server.setLatency(ms),
    failNext: (count, exception, operation) => server.failNext(count, exception, operation),
    halt: () => server.halt(),
    resume: () => server.resume(),
    close: () => server.close(),
  };
}
