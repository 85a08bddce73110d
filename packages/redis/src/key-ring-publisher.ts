import { KeywardError, type KeyRingChangeNotice } from '@keyward/core';
import type { Redis } from 'ioredis';
import { createRedis, DEFAULT_KEY_RING_CHANNEL, DEFAULT_REDIS_URL, describeTarget, failureReason, isAuthFailure, type RedisTlsOptions } from './redis-connection.js';

/** Options of `redisKeyRingPublisher()`: the Redis URL, the channel, and how long a publish may take. */
export interface RedisKeyRingPublisherOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Default `keyward:api-keys`; followers must use the same. */
  channel?: string;
  /** TLS for a `rediss://` URL beyond Node's defaults (a private CA, a client certificate); refused with `redis://`. */
  tls?: RedisTlsOptions;
  /** How long one `publish` may take, connecting included. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Sends key ring change notices over Redis: give its `publish` to `keyRingAdmin()` so that every app reads the ring again.
 */
export interface KeyRingPublisher {
  /** Tells every follower that the ring changed. Rejects with `PROVIDER_UNAVAILABLE`/`PROVIDER_TIMEOUT` (never hangs past `timeoutMs`). */
  publish(notice: KeyRingChangeNotice): Promise<void>;
  /** Closes the connection. Idempotent; `publish` afterwards rejects with `PROVIDER_UNAVAILABLE`. */
  close(): Promise<void>;
}

/**
 * Publishes key ring changes on a Redis channel, for `keyRingAdmin({ publish })`. It connects
 * on the first publish (and again after a failure), never queues while Redis is away and
 * rejects within `timeoutMs`, so a write never waits on Redis: the admin reports
 * `published: false` and the instances see the change at their next poll instead.
 *
 * @example
 * const publisher = redisKeyRingPublisher({ url: process.env.REDIS_URL });
 * const admin = keyRingAdmin({ backend: fileKeyRing('/etc/billing/api-keys.json'), pepper, env: 'live', publish: publisher.publish });
 * await admin.revoke(keyId); // every follower refreshes its ring within a second
 * await publisher.close();
 */
export function redisKeyRingPublisher(options: RedisKeyRingPublisherOptions = {}): KeyRingPublisher {
  const channel = options.channel ?? DEFAULT_KEY_RING_CHANNEL;
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new KeywardError('CONFIG_INVALID', 'redisKeyRingPublisher timeoutMs must be a positive number');
  if (channel === '') throw new KeywardError('CONFIG_INVALID', 'redisKeyRingPublisher channel must not be empty');

  const redis: Redis = createRedis(options.url ?? DEFAULT_REDIS_URL, {
    // Reconnect on demand (the next publish), not in the background: nothing runs while idle.
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
  }, options.tls);
  const target = describeTarget(redis);
  let lastFailure: string | undefined;
  // Errors are reported through publish's rejection; without a listener ioredis would log them.
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

  async function send(message: string): Promise<void> {
    try {
      await connected();
      await redis.publish(channel, message);
    } catch (err) {
      if (isTimeout(err)) throw timedOut();
      throw unavailable(err);
    } finally {
      lastFailure = undefined;
    }
  }

  const timedOut = () => new KeywardError('PROVIDER_TIMEOUT', `redis at ${target} did not answer within ${timeoutMs} ms`, { location: target });

  return {
    async publish(notice) {
      if (closed) throw new KeywardError('PROVIDER_UNAVAILABLE', `the publisher to redis at ${target} is closed`, { location: target });
      const message = JSON.stringify(notice);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Drop a connection that hangs; the next publish connects afresh.
          redis.disconnect();
          reject(timedOut());
        }, timeoutMs);
      });
      const sending = send(message);
      sending.catch(() => {}); // settled by the race below; the loser must not be unhandled
      try {
        await Promise.race([sending, deadline]);
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
