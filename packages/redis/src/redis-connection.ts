import { KeywardError } from '@keyward/core';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is by default: a local server on its standard port. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The channel key ring changes are published on by default. */
export const DEFAULT_KEY_RING_CHANNEL = 'keyward:api-keys';

/**
 * TLS settings for a `rediss://` connection, handed to Node's `tls.connect` (the rest stays
 * Node's default: certificates are checked against the CA and the host name).
 *
 * @example
 * followKeyRing(store, 'apiKeyRing', {
 *   url: 'rediss://redis.internal:6380',
 *   tls: { ca: readFileSync('/etc/ssl/private-ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client-key.pem') },
 * });
 */
export interface RedisTlsOptions {
  /** The CA certificate(s), PEM, to trust instead of Node's bundled roots (a private CA). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** A client certificate, PEM, for a server that asks for one (mutual TLS); with `key`. */
  readonly cert?: string | Buffer;
  /** The client certificate's private key, PEM. */
  readonly key?: string | Buffer;
  /** The name the server's certificate must carry (and the SNI sent), when it is not the URL's host (e.g. an IP address). */
  readonly servername?: string;
  /** Default `true`. `false` accepts any certificate, which lets anyone in the path read and forge notices: local tests only. */
  readonly rejectUnauthorized?: boolean;
}

/**
 * A Redis client on `url` that never queues commands while disconnected and never connects by
 * itself (the caller calls `connect()`), so nothing waits on a Redis that is away. `tls`
 * needs a `rediss://` URL.
 */
export function createRedis(url: string, options: RedisOptions, tls?: RedisTlsOptions): Redis {
  if (tls !== undefined && !/^rediss:\/\//i.test(url)) {
    throw new KeywardError('CONFIG_INVALID', 'redis tls options need a rediss:// URL');
  }
  return new Redis(url, {
    ...(tls === undefined ? {} : { tls: { ...tls, ...(Array.isArray(tls.ca) ? { ca: [...tls.ca] } : {}) } as ConnectionOptions }),
    lazyConnect: true,
    enableOfflineQueue: false,
    // Keyward's own code never sends commands it would want resent after a reconnect.
    autoResendUnfulfilledCommands: false,
    // The client's name in `CLIENT LIST`, to tell Keyward's connections apart.
    connectionName: 'keyward',
    // A socket that does not end cleanly when closed is destroyed this soon (ioredis' default, 2 s, holds the process open).
    disconnectTimeout: 200,
    ...options,
  });
}

/**
 * `host:port` (or the socket path) of a client, for messages: never the URL, which may hold a
 * password.
 */
export function describeTarget(redis: Redis): string {
  const { host, port, path } = redis.options;
  if (typeof path === 'string' && path !== '') return path;
  const name = host ?? '127.0.0.1';
  return `${name.includes(':') ? `[${name}]` : name}:${port ?? 6379}`;
}

/**
 * Why a connection failed, as a short token safe for messages: a system error code
 * (`ECONNREFUSED`) or the error's name, never its message or the command it carried (a
 * `HELLO ... AUTH` command holds the password).
 */
export function failureReason(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  // Redis replies start with an upper-case error kind (`WRONGPASS ...`, `NOAUTH ...`): keep only it.
  if (typeof message === 'string') {
    const kind = /^([A-Z][A-Z0-9_]+)\b/.exec(message)?.[1];
    if (kind !== undefined) return kind;
  }
  return typeof name === 'string' && name !== 'Error' ? name : undefined;
}

/** Whether a failure means Redis refused our credentials (not that it is away). */
export function isAuthFailure(reason: string | undefined): boolean {
  return reason === 'WRONGPASS' || reason === 'NOAUTH' || reason === 'NOPERM';
}
