import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

/** A decoded JSON request body of one operation. */
export type RequestBody = Readonly<Record<string, unknown>>;

/** One API action: request body in, response body out, or a thrown error the server turns into an answer. */
export type JsonOperation = (body: RequestBody) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** An error answer: HTTP status, `__type` and the JSON body. */
export interface ErrorReply {
  readonly status: number;
  readonly type: string;
  readonly body: Record<string, unknown>;
}

export interface AwsJsonServerOptions {
  /** Default: a free port on 127.0.0.1. */
  readonly port?: number;
  /** `TrentService.` for KMS, `secretsmanager.` for Secrets Manager: the `X-Amz-Target` header is the prefix and the operation's name. */
  readonly targetPrefix: string;
  readonly operations: Readonly<Record<string, JsonOperation>>;
  /** The error to answer with for a protocol failure (`UnknownOperationException`, `SerializationException`) or an injected fault. */
  readonly error: (type: string, message: string) => unknown;
  /** The answer for anything an operation threw; unknown errors should become the service's internal error. */
  readonly reply: (err: unknown) => ErrorReply;
  readonly latencyMs?: number;
}

/** A running JSON 1.1 server: the part every AWS emulator shares. */
export interface AwsJsonServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  setLatency(ms: number): void;
  failNext(count: number, exception: string, operation?: string): void;
  /** Stops listening and drops every connection (calls are refused), keeping all state, until `resume()`. */
  halt(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

interface Fault {
  remaining: number;
  readonly exception: string;
  readonly operation?: string;
}

const MAX_BODY = 1024 * 1024;

/**
 * Serves the AWS JSON 1.1 protocol the SDK v3 speaks (POST, `X-Amz-Target`,
 * `application/x-amz-json-1.1`, `__type` error bodies) on 127.0.0.1. Signatures are accepted
 * unverified, for any region.
 *
 * @example
 * const server = await startAwsJsonServer({ targetPrefix: 'TrentService.', operations, error, reply });
 */
export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
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
      const name = target.startsWith(options.targetPrefix) ? target.slice(options.targetPrefix.length) : '';
      const operation = req.method === 'POST' && Object.hasOwn(options.operations, name) ? options.operations[name] : undefined;
      if (!operation) throw options.error('UnknownOperationException', `Operation ${target || '(none)'} is not supported.`);
      const body = parseBody(await readBody(req, options.error), options.error);
      const injected = takeFault(name);
      if (injected) throw options.error(injected, `Injected fault: ${injected}.`);
      return { status: 200, body: await operation(body) };
    } catch (err) {
      const reply = options.reply(err);
      return { status: reply.status, body: reply.body, errorType: reply.type };
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const reply = await answer(req);
    // Unref'd: a reply held back for a caller that gave up must not keep the process alive.
    if (latency > 0) await sleep(latency, undefined, { ref: false });
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
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  await listen();

  let closing: Promise<void> | undefined;
  let halted: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setLatency(ms) {
      latency = Math.max(0, ms);
    },
    failNext(count, exception, operation) {
      if (count > 0) faults.push({ remaining: Math.floor(count), exception, operation });
    },
    halt() {
      if (closing) return closing;
      halted ??= stop();
      return halted;
    },
    async resume() {
      if (closing) throw new Error('the emulator is closed');
      if (!halted) return;
      await halted;
      halted = undefined;
      await listen();
    },
    close() {
      closing ??= (halted ?? Promise.resolve()).then(() => (server.listening ? stop() : undefined));
      return closing;
    },
  };
}

function readBody(req: IncomingMessage, error: AwsJsonServerOptions['error']): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(error('SerializationException', 'The request body is too large.'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(text: string, error: AwsJsonServerOptions['error']): RequestBody {
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw error('SerializationException', 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw error('SerializationException', 'The request body must be a JSON object.');
  return body as RequestBody;
}
