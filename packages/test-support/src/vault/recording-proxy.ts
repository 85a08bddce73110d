import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP call seen on its way to Vault. */
export interface RecordedCall {
  readonly method: string;
  /** The path without its query (`/v1/secret/data/app`). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Vault's status, once it answered. */
  status: number | undefined;
  /** The client went away before the answer was complete (an aborted call). */
  abandoned: boolean;
}

export interface RecordingProxy {
  /** Point a Vault connection here instead of at the server. */
  readonly url: string;
  readonly calls: RecordedCall[];
  /** Calls with this method whose path is `path` (or matches it). */
  count(method: string, path: string | RegExp, status?: number): number;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of a Vault server that records every call (method, path,
 * headers, status, abandoned), so tests observe the real traffic instead of trusting the client.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: false });
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const call: RecordedCall = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      status: undefined,
      abandoned: false,
    };
    calls.push(call);
    const forward = http.request(
      new URL(req.url ?? '/', upstream),
      { method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
      (answer) => {
        call.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    // Vault dropped the connection: drop the client's too, as a direct connection would.
    forward.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) {
        call.abandoned = true;
        forward.destroy();
      }
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    count(method, path, status) {
      return calls.filter(
        (c) => c.method === method && (typeof path === 'string' ? c.path === path : path.test(c.path)) && (status === undefined || c.status === status),
      ).length;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
