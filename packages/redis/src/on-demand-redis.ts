import { KeywardError } from '@keyward/core';
import type { Redis } from 'ioredis';
import { createRedis, describeTarget, failureReason, isAuthFailure, type RedisTlsOptions } from './redis-connection.js';

/** A Redis connection for occasional commands: connected on the first one, again after a failure, never in the background. */
export interface OnDemandRedis {
  /**
   * Runs `command` on the connection (connecting first when needed). Rejects with
   * `PROVIDER_UNAVAILABLE` (Redis away, or this closed), `PERMISSION_DENIED` (credentials
   * refused) or `PROVIDER_TIMEOUT`, never later than the timeout.
   */
  run<T>(command: (redis: Redis) => Promise<T>): Promise<T>;
  /** Closes the connection. Idempotent; `run` afterwards rejects with `PROVIDER_UNAVAILABLE`. */
  close(): Promise<void>;
}

/**
 * The connection the publisher and the replay guard share the rules of: no command queued while
 * Redis is away, none resent, each bounded by `timeoutMs` (connecting included; a connection that
 * hangs is dropped, and the next command connects afresh). Messages name `host:port`, never the
 * URL (it may hold a password). `what` names the user in the closed message.
 */
export function onDemandRedis(url: string, timeoutMs: number, what: string, tls?: RedisTlsOptions): OnDemandRedis {
  const redis: Redis = createRedis(url, {
    // Reconnect on demand (the next command), not in the background: nothing runs while idle.
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
  }, tls);
  const target = describeTarget(redis);
  let lastFailure: string | undefined;
  // Errors are reported through run's rejection; without a listener ioredis would log them.
  redis.on('error', (err: unknown) => {
    lastFailure = failureReason(err) ?? lastFailure;
  });

  let connecting: Promise<void> | undefined;
  let closed = false;

  function connected(): Promise<void> {
    if (redis.status === 'ready') return Promise.resolve();
    connecting ??= redis.connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  function unavailable(err: unknown): KeywardError {
    const reason = failureReason(err) ?? lastFailure;
    if (isAuthFailure(reason)) return new KeywardError('PERMISSION_DENIED', `redis at ${target} refused the credentials (${reason})`, { location: target });
    return new KeywardError('PROVIDER_UNAVAILABLE', `redis at ${target} is unavailable${reason === undefined ? '' : ` (${reason})`}`, { location: target });
  }

  const timedOut = () => new KeywardError('PROVIDER_TIMEOUT', `redis at ${target} did not answer within ${timeoutMs} ms`, { location: target });

  async function send<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      await connected();
      return await command(redis);
    } catch (err) {
      if (isTimeout(err)) throw timedOut();
      throw unavailable(err);
    } finally {
      lastFailure = undefined;
    }
  }

  return {
    async run(command) {
      if (closed) throw new KeywardError('PROVIDER_UNAVAILABLE', `the ${what} to redis at ${target} is closed`, { location: target });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Drop a connection that hangs; the next command connects afresh.
          redis.disconnect();
          reject(timedOut());
        }, timeoutMs);
      });
      const sending = send(command);
      sending.catch(() => {}); // settled by the race below; the loser must not be unhandled
      try {
        return await Promise.race([sending, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (redis.status === 'ready') {
        await redis.quit().catch(() => redis.disconnect());
      } else {
        redis.disconnect();
      }
    },
  };
}

function isTimeout(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === 'ETIMEDOUT' || (typeof message === 'string' && message.includes('timed out'));
}
