import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../free-port.js';
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

const TARGET_PREFIX = 'secretsmanager.';
const MAX_BODY = 1024 * 1024;

interface Fault {
  remaining: number;
  readonly exception: string;
  readonly operation?: string;
}

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
  let latency = Math.max(0, options.latencyMs ?? 0);
  const faults: Fault[] = [];

  const takeFault = (operation: string): string | undefined => {
    const fault = faults.find((f) => f.operation === undefined || f.operation === operation);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
    return fault.exception;
  };

  const answer = async (req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown>; errorType?: string }> => {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      const operation = req.method === 'POST' ? OPERATIONS[name] : undefined;
      if (!operation) throw new SecretsManagerError('UnknownOperationException', `Operation ${target || '(none)'} is not supported.`);
      const text = await readBody(req);
      let body: unknown;
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new SecretsManagerError('SerializationException', 'The request body is not valid JSON.');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SecretsManagerError('SerializationException', 'The request body must be a JSON object.');
      const injected = takeFault(name);
      if (injected) throw new SecretsManagerError(injected, `Injected fault: ${injected}.`, statusOf(injected));
      return { status: 200, body: await operation(context, body as Record<string, unknown>) };
    } catch (err) {
      const error = err instanceof SecretsManagerError ? err : new SecretsManagerError('InternalServiceError', 'An error occurred on the server side.', 500);
      return { status: error.status, body: { __type: error.type, message: error.message }, errorType: error.type };
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const reply = await answer(req);
    if (latency > 0) await sleep(latency);
    if (res.destroyed) return;
    res.statusCode = reply.status;
    res.setHeader('Content-Type', 'application/x-amz-json-1.1');
    res.setHeader('x-amzn-RequestId', randomUUID());
    if (reply.errorType) res.setHeader('x-amzn-ErrorType', reply.errorType);
    res.end(JSON.stringify(reply.body));
  };

  const server = createServer((req, res) => void serve(req, res));
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials: { accessKeyId: 'AKIAEMULATOR0000TEST', secretAccessKey: 'emulator-secret-access-key-not-verified' },
    setRotationHandler(handler) {
      context.rotationHandler = handler;
    },
    setLatency(ms) {
      latency = Math.max(0, ms);
    },
    failNext(count, exception, operation) {
      if (count > 0) faults.push({ remaining: Math.floor(count), exception, operation });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new SecretsManagerError('SerializationException', 'The request body is too large.'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
