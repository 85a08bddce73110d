// Between an app and the Secrets Manager emulator: passes requests through, or, for an outage,
// answers every call as AWS does when it throttles (400 ThrottlingException) or fails (500
// InternalServiceError, 503 ServiceUnavailableException), in turns. The emulator's own
// `failNext(count)` is counted, not timed; an outage of a fixed length needs this.
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '@keyward/testing';

export interface FaultProxy {
  readonly url: string;
  /** Faults on (every call refused) or off (passed through). */
  setFaulty(faulty: boolean): void;
  /** Calls refused so far, by exception. */
  readonly refused: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

const FAULTS = [
  { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  { status: 500, type: 'InternalServiceError', message: 'An error occurred on the server side.' },
  { status: 503, type: 'ServiceUnavailableException', message: 'Service Unavailable' },
] as const;

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  let faulty = false;
  let turn = 0;
  const refused: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (faulty) {
      const fault = FAULTS[turn++ % FAULTS.length]!;
      refused[fault.type] = (refused[fault.type] ?? 0) + 1;
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': fault.type });
      res.end(JSON.stringify({ __type: fault.type, message: fault.message }));
      return;
    }
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host }, timeout: 10_000 },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    setFaulty(on) {
      faulty = on;
    },
    refused,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
