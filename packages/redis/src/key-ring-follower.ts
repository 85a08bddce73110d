import { KeywardError } from '@keyward/core';
import type { Redis } from 'ioredis';
import { createRedis, DEFAULT_KEY_RING_CHANNEL, DEFAULT_REDIS_URL, describeTarget, type RedisTlsOptions } from './redis-connection.js';
import { refreshLimiter } from './refresh-limiter.js';

/**
 * Whether a follower hears notices (`subscribed`), reads the ring on a timer because Redis is away (`polling`), or stopped.
 */
export type KeyRingFollowerState = 'subscribed' | 'polling' | 'closed';

/** Options of `followKeyRing()`: the Redis URL, the channel, and how often to poll while Redis is away. */
export interface FollowKeyRingOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Default `keyward:api-keys`; the publisher must use the same. */
  channel?: string;
  /**
   * TLS for a `rediss://` URL beyond Node's defaults: a private CA, a client certificate, the
   * server name to check. Refused with a `redis://` URL.
   */
  tls?: RedisTlsOptions;
  /** How often the ring is read while Redis is away (not subscribed). Default 5000 ms. */
  pollWhileAwayMs?: number;
  /**
   * The least time between two reads of the ring, whatever asks for them (notices, the catch-up
   * at each subscribe, polling): anyone who can publish on the channel can send notices, and a
   * flood of them must not become a flood of reads on the ring's backend. Notices that arrive
   * sooner make one read as soon as the interval has passed, so the last change is never
   * missed; never more than one read runs at a time. Default 500 ms; `0` only coalesces.
   */
  minRefreshIntervalMs?: number;
  /**
   * While subscribed, a PING every `heartbeatMs`; one left unanswered until the next means the
   * connection is dead without having said so (a network partition, a frozen proxy): it is
   * dropped and made again, polling meanwhile. Default 5000 ms.
   */
  heartbeatMs?: number;
  /** Called on each change between `subscribed` and `polling` (not for the initial `polling`, nor on close). */
  onStateChange?: (state: 'subscribed' | 'polling') => void;
}

/**
 * What the follower needs of a store: `SecretStore` is one. Generic so that a typed store's
 * `refresh(name?: keyof D)` fits, and the name is checked against its declarations.
 */
export interface KeyRingRefresher<N extends string = string> {
  refresh(name: N): Promise<void>;
}

/** A running `followKeyRing()`: its state, a promise for the first subscription, and `close()`. */
export interface KeyRingFollower {
  /** `polling` until the first SUBSCRIBE succeeds and whenever Redis is away; `closed` after `close()`. */
  readonly state: KeyRingFollowerState;
  /** Resolves once the first SUBSCRIBE succeeds (for readiness checks and tests); rejects with `STORE_CLOSED` if closed before. */
  subscribed(): Promise<void>;
  /** Stops polling and disconnects from Redis. Idempotent; no refresh is started afterwards. */
  close(): Promise<void>;
}

/**
 * Keeps an instance's copy of a key ring fresh: each change notice on the Redis channel makes
 * `store.refresh(name)` read the ring again, from its own backend (a notice only says "go and
 * read"; its content is never trusted), at most once per `minRefreshIntervalMs` however many
 * notices come. While Redis is away the ring is read every
 * `pollWhileAwayMs` instead, and once more at each (re)subscribe, as notices may have been missed
 * meanwhile. Reconnects forever, with a backoff capped at one second.
 *
 * @example
 * const store = await new SecretStore({ app: 'billing', environment, providers, secrets: { apiKeyRing: { format: 'json' } } }).start();
 * const follower = followKeyRing(store, 'apiKeyRing', { url: process.env.REDIS_URL });
 * const verifier = createApiKeyVerifier({ ring: () => parseKeyRing(store.get('apiKeyRing').reveal()), pepper });
 * // on shutdown
 * await follower.close();
 * await store.close();
 */
export function followKeyRing<const N extends string>(store: KeyRingRefresher<NoInfer<N>>, name: N, options: FollowKeyRingOptions = {}): KeyRingFollower {
  const channel = options.channel ?? DEFAULT_KEY_RING_CHANNEL;
  const pollMs = options.pollWhileAwayMs ?? 5000;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  if (!Number.isFinite(pollMs) || pollMs <= 0) throw new KeywardError('CONFIG_INVALID', 'followKeyRing pollWhileAwayMs must be a positive number');
  if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) throw new KeywardError('CONFIG_INVALID', 'followKeyRing heartbeatMs must be a positive number');
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? 500;
  if (!Number.isFinite(minRefreshIntervalMs) || minRefreshIntervalMs < 0) throw new KeywardError('CONFIG_INVALID', 'followKeyRing minRefreshIntervalMs must be a number of 0 or more');
  if (channel === '') throw new KeywardError('CONFIG_INVALID', 'followKeyRing channel must not be empty');

  const redis: Redis = createRedis(options.url ?? DEFAULT_REDIS_URL, {
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    // Reconnect forever: a subscriber sends no commands that could pile up meanwhile.
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    // Subscribed again by hand at each `ready`, to know when it succeeded.
    autoResubscribe: false,
  }, options.tls);
  const target = describeTarget(redis);

  let state: KeyRingFollowerState = 'polling';
  let pollTimer: NodeJS.Timeout | undefined;
  /** Bumped at each connection loss: a SUBSCRIBE answered for an older connection is ignored. */
  let connection = 0;

  const limiter = refreshLimiter(() => store.refresh(name), { minIntervalMs: minRefreshIntervalMs });
  const refresh = (): void => limiter.request();

  let first!: { resolve: () => void; reject: (err: unknown) => void };
  const firstSubscribe = new Promise<void>((resolve, reject) => (first = { resolve, reject }));
  firstSubscribe.catch(() => {}); // only a caller of subscribed() hears of a close before it

  // A connection can die silently (no FIN, no RST): only an unanswered PING tells.
  let heartbeat: NodeJS.Timeout | undefined;
  let unanswered = false;
  function startHeartbeat(): void {
    stopHeartbeat();
    heartbeat = setInterval(() => {
      if (unanswered) {
        stopHeartbeat();
        redis.disconnect(true); // `close` follows: polling until subscribed again
        return;
      }
      unanswered = true;
      redis.ping().then(
        () => (unanswered = false),
        () => {},
      );
    }, heartbeatMs);
    heartbeat.unref();
  }
  function stopHeartbeat(): void {
    if (heartbeat !== undefined) clearInterval(heartbeat);
    heartbeat = undefined;
    unanswered = false;
  }

  function setState(next: 'subscribed' | 'polling'): void {
    if (state === next || state === 'closed') return;
    state = next;
    if (next === 'polling') {
      stopHeartbeat();
      startPolling();
    } else {
      stopPolling();
      startHeartbeat();
    }
    try {
      options.onStateChange?.(next);
    } catch {
      // A listener's failure is its own.
    }
  }

  function startPolling(): void {
    if (pollTimer !== undefined) return;
    pollTimer = setInterval(refresh, pollMs);
    pollTimer.unref();
  }

  function stopPolling(): void {
    if (pollTimer === undefined) return;
    clearInterval(pollTimer);
    pollTimer = undefined;
  }

  function subscribe(): void {
    const current = connection;
    redis.subscribe(channel).then(
      () => {
        if (current !== connection || state === 'closed') return;
        setState('subscribed');
        first.resolve();
        // Notices published while not subscribed (or before the first subscribe) are lost: read once now.
        refresh();
      },
      () => {
        // Could not subscribe on this connection: drop it and let the backoff try again.
        if (current === connection && state !== 'closed') redis.disconnect(true);
      },
    );
  }

  redis.on('ready', subscribe);
  redis.on('close', () => {
    connection += 1;
    setState('polling');
  });
  // Failures show as `close` and are retried; without a listener ioredis would log them.
  redis.on('error', () => {});
  redis.on('message', (from: string, message: string) => {
    // A notice only says "the ring changed, go and read it": nothing in it is used, nor trusted.
    if (from === channel && isNotice(message)) refresh();
  });

  startPolling();
  redis.connect().catch(() => {
    // The first attempt failed: the retry strategy keeps trying; polling covers the meantime.
  });

  return {
    get state() {
      return state;
    },
    subscribed() {
      return firstSubscribe;
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      limiter.close();
      stopPolling();
      stopHeartbeat();
      first.reject(new KeywardError('STORE_CLOSED', `the key ring follower for redis at ${target} was closed before it subscribed`, { location: target }));
      // Only a live socket ends with an `end` event; between attempts there is nothing to wait for.
      const live = redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'ready';
      const ended = live ? endOf(redis) : Promise.resolve();
      redis.disconnect();
      await ended;
    },
  };
}

/** Resolves at the client's `end` event, or after a second at most (close() must not hang). */
function endOf(redis: Redis): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, 1000);
    timer.unref();
    redis.once('end', done);
  });
}

const ACTIONS: ReadonlySet<unknown> = new Set(['create', 'rotate', 'revoke', 'prune']);

/** Whether a message looks like a `KeyRingChangeNotice`; anything else on the channel is ignored. */
function isNotice(message: string): boolean {
  if (message.length > 4096) return false;
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === 'object' && parsed !== null && ACTIONS.has((parsed as { action?: unknown }).action);
  } catch {
    return false;
  }
}
