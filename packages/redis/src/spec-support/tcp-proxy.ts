// Test helpers for this package's specs; not part of the published package (see tsconfig.json).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The loopback port clients connect to; the same after `restore()`. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Redis is "away": every connection is dropped and no new one is accepted. */
  cut(): Promise<void>;
  /** Redis is back: accepts again on the same port. */
  restore(): Promise<void>;
  /** The connections open now go silent both ways without closing (a partition); new ones work. */
  freeze(): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target`, which a test can cut and restore. */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const frozen = new WeakSet<Socket>();
  let accepted = 0;
  let server: Server | undefined;
  let port = 0;

  const listen = async (): Promise<void> => {
    const next = createServer((client) => {
      accepted++;
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      // Forwarded by hand (not piped), so that a frozen connection can swallow what it carries.
      client.on('data', (data: Buffer) => {
        if (!frozen.has(client)) upstream.write(data);
      });
      upstream.on('data', (data: Buffer) => {
        if (!frozen.has(client)) client.write(data);
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    port = (next.address() as { port: number }).port;
    server = next;
  };

  const cut = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    cut,
    freeze() {
      for (const socket of sockets) frozen.add(socket);
    },
    async restore() {
      if (server === undefined) await listen();
    },
    close: cut,
  };
}

/** A TCP server that accepts connections and never answers: a Redis that hangs. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
