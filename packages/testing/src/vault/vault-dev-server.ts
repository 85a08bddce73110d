import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { freePort } from '../free-port.js';
import { CustomVerbSocket } from './custom-verbs.js';
import type { VaultReply } from './http-envelope.js';
import { newServiceToken } from './ids.js';
import { VaultRouter } from './router.js';
import { mountSecretsEngine } from './sys-mounts.js';
import { tokenAuth } from './token-auth.js';
import { VaultCore } from './vault-core.js';

/**
 * Options of {@link startVaultDevServer}.
 *
 * @example
 * await startVaultDevServer({ rootToken: 'hvs.local-root-token', kvMounts: ['secret', 'kv'], latencyMs: 20 });
 */
export interface VaultDevServerOptions {
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Default: random `hvs.` + 24 base62 characters. */
  rootToken?: string;
  /** Added to every reply (default 0). */
  latencyMs?: number;
  /** KV v2 mounts enabled at start (default `['secret']`, like `vault server -dev`). */
  kvMounts?: string[];
}

/**
 * A running in-process Vault dev server; configure it through Vault's own API with `rootToken`.
 *
 * @example
 * server.seal(2_000);          // 503 "Vault is sealed" for two seconds
 * server.dropConnections(1);   // the next request gets no reply
 * await server.close();
 */
export interface VaultDevServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The root token (non-enumerable; redacted in inspect). */
  readonly rootToken: string;
  /** The dev server's single unseal key, for `PUT /v1/sys/unseal` (non-enumerable; redacted in inspect). */
  readonly unsealKey: string;
  /** Sealed: every API answers 503 `{"errors":["Vault is sealed"]}`; unseals by itself after `forMs`. */
  seal(forMs?: number): void;
  unseal(): void;
  setLatency(ms: number): void;
  /** The next `count` requests get their socket destroyed with no reply. */
  dropConnections(count: number): void;
  /** Stops timers and connections, revokes nothing, closes the server; idempotent. */
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

/**
 * Starts an in-process stand-in for `vault server -dev` on 127.0.0.1 that answers Vault's HTTP
 * API (KV v2, database secrets against a real PostgreSQL, transit encryption, PKI certificates, leases,
 * token/AppRole/Kubernetes auth, ACL policies, seal and health) with Vault's status codes,
 * envelopes and error bodies. Engines other than the start-up KV mounts are enabled through
 * `POST /v1/sys/mounts/<path>` (`{ type: 'database' }`, `{ type: 'transit' }`, `{ type: 'pki' }`), as on Vault.
 *
 * @example
 * const vaultServer = await startVaultDevServer();
 * const client = vault({ endpoint: vaultServer.url, token: vaultServer.rootToken });
 * await client.write('secret/data/app', { data: { password: 'x' } });
 * await vaultServer.close();
 */
export async function startVaultDevServer(options: VaultDevServerOptions = {}): Promise<VaultDevServer> {
  const core = new VaultCore();
  const rootToken = options.rootToken ?? newServiceToken();
  core.tokens.createRoot(rootToken);
  core.mounts.add('auth/token/', 'token', tokenAuth(core), null, 'token based credentials');
  for (const path of options.kvMounts ?? ['secret']) mountSecretsEngine(core, path, 'kv', { version: '2' }, 'key/value secret storage');
  const router = new VaultRouter(core);
  const marker = `x-vault-dev-method-${randomBytes(6).toString('hex')}`;
  let latency = Math.max(0, options.latencyMs ?? 0);
  let drops = 0;
  let cancelAutoUnseal: (() => void) | undefined;

  const http = createHttpServer((req, res) => {
    if (drops > 0) {
      drops -= 1;
      req.socket.destroy();
      return;
    }
    void serve(req, res);
  });
  http.keepAliveTimeout = 5_000;

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req).catch(() => undefined);
    const method = req.headers[marker] === 'LIST' ? 'LIST' : (req.method ?? 'GET');
    delete req.headers[marker];
    const reply: VaultReply =
      body === undefined
        ? { status: 413, body: { errors: ['http: request body too large'] } }
        : await router.handle({ method, url: req.url ?? '/', headers: req.headers, body });
    await core.timers.sleep(latency);
    if (res.destroyed) return;
    res.statusCode = reply.status;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json');
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
    if (reply.status === 204 || method === 'HEAD') res.end();
    else if (reply.rawText !== undefined) res.end(reply.rawText);
    else if (reply.body === undefined && reply.rawJson === undefined) res.end();
    else res.end(`${reply.rawJson ?? JSON.stringify(reply.body)}\n`);
  };

  const sockets = new Set<Socket>();
  const net = createNetServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    http.emit('connection', new CustomVerbSocket(raw, marker));
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(port, '127.0.0.1', () => resolve());
  });

  let closing: Promise<void> | undefined;
  const server = {
    url: `http://127.0.0.1:${port}`,
    port,
    seal(forMs?: number) {
      cancelAutoUnseal?.();
      core.seal.seal();
      if (forMs !== undefined && forMs >= 0) cancelAutoUnseal = core.timers.after(forMs, () => core.seal.unseal());
    },
    unseal() {
      cancelAutoUnseal?.();
      core.seal.unseal();
    },
    setLatency(ms: number) {
      latency = Math.max(0, ms);
    },
    dropConnections(count: number) {
      drops = Math.max(0, Math.floor(count));
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          net.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        http.close();
        await core.close();
      })();
      return closing;
    },
    [inspect.custom]() {
      return `VaultDevServer { url: '${server.url}', rootToken: [redacted] }`;
    },
    toJSON() {
      return { url: server.url, port };
    },
  };
  Object.defineProperty(server, 'rootToken', { enumerable: false, value: rootToken });
  Object.defineProperty(server, 'unsealKey', { enumerable: false, value: core.seal.unsealKey });
  return server as unknown as VaultDevServer;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
