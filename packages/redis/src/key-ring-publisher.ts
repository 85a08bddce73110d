import { KeywardError, type KeyRingChangeNotice } from '@keyward/core';
import { onDemandRedis } from './on-demand-redis.js';
import { DEFAULT_KEY_RING_CHANNEL, DEFAULT_REDIS_URL, type RedisTlsOptions } from './redis-connection.js';

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
  const redis = onDemandRedis(options.url ?? DEFAULT_REDIS_URL, timeoutMs, 'publisher', options.tls);
  return {
    async publish(notice) {
      const message = JSON.stringify(notice);
      await redis.run((r) => r.publish(channel, message));
    },
    close: () => redis.close(),
  };
}
