import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is by default: a local server on its standard port. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The channel key ring changes are published on by default. */
export const DEFAULT_KEY_RING_CHANNEL = 'keyward:api-keys';

/**
 * A Redis client on `url` that never queues commands while disconnected and never connects by
 * itself (the caller calls `connect()`), so nothing waits on a Redis that is away.
 */
export function createRedis(url: string, options: RedisOptions): Redis {
  return new Redis(url, {
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
