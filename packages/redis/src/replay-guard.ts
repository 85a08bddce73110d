import { KeywardError, type ReplayGuard } from '@keyward/core';
import { onDemandRedis } from './on-demand-redis.js';
import { DEFAULT_REDIS_URL, type RedisTlsOptions } from './redis-connection.js';

/** Options of `redisReplayGuard()`: the Redis URL, the key prefix, and how long one check may take. */
export interface RedisReplayGuardOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** TLS for a `rediss://` URL beyond Node's defaults; refused with `redis://`. */
  tls?: RedisTlsOptions;
  /** Prefix of the keys it sets, one per report seen (default `keyward:seen:`). */
  prefix?: string;
  /** How long one check may take, connecting included. Default 1000 ms. */
  timeoutMs?: number;
}

/** A replay guard shared through Redis; `close()` ends its connection. */
export interface RedisReplayGuard extends ReplayGuard {
  /** Closes the connection. Idempotent; checks afterwards reject with `PROVIDER_UNAVAILABLE`. */
  close(): Promise<void>;
}

/**
 * A `ReplayGuard` for `secretScanningHandler({ replays })` shared by every instance of a
 * service: a report is "first seen" by whichever instance sets its key first (`SET key 1 NX
 * PX ttl`, atomic in Redis), so a report replayed to another instance behind the load balancer
 * is refused too. The key is the handler's SHA-256 of the signed report, never the report. When
 * Redis is away the check rejects (`PROVIDER_UNAVAILABLE`, `PROVIDER_TIMEOUT`) and the handler
 * answers 503, which GitHub retries, rather than act on a report it cannot check.
 *
 * @example
 * const replays = redisReplayGuard({ url: process.env.REDIS_URL });
 * app.post('/github/secret-scanning', secretScanningEndpoint(secretScanningHandler({ admin, pepper, replays })));
 */
export function redisReplayGuard(options: RedisReplayGuardOptions = {}): RedisReplayGuard {
  const prefix = options.prefix ?? 'keyward:seen:';
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new KeywardError('CONFIG_INVALID', 'redisReplayGuard timeoutMs must be a positive number');
  const redis = onDemandRedis(options.url ?? DEFAULT_REDIS_URL, timeoutMs, 'replay guard', options.tls);
  return {
    async firstSeen(id, ttlMs) {
      const set = await redis.run((r) => r.set(`${prefix}${id}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
      return set === 'OK';
    },
    close: () => redis.close(),
  };
}
