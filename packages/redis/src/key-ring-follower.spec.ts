import { beforeEach, describe, expect, it } from '@jest/globals';
import { freePort } from '@keyward/testing';
import { Redis } from 'ioredis';
import { followKeyRing, type KeyRingFollower } from './key-ring-follower.js';
import { redisKeyRingPublisher } from './key-ring-publisher.js';
import { canary, closeAfterEach, expectNoCanary, waitFor } from '@keyward/test-support';
import { notice, randomChannel, recordingStore, REDIS, REDIS_URL, settle, tcpProxy } from './spec-support/index.js';

describe('followKeyRing', () => {
  // Every follower, publisher, client and proxy of a test is closed after it.
  const track = closeAfterEach();
  let channel: string;
  beforeEach(() => {
    channel = randomChannel();
  });

  /** A plain client, for messages no publisher would send and to watch the channel. */
  function rawClient(): Redis {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    track({ close: async () => void (await redis.quit().catch(() => redis.disconnect())) });
    return redis;
  }

  describe('with Redis up', () => {
    it('subscribes, reads once to catch up, and refreshes within a second of each published notice', async () => {
      const store = recordingStore();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel }));
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      expect(follower.state).toBe('polling');

      await follower.subscribed();
      expect(follower.state).toBe('subscribed');
      expect(store.calls).toEqual([{ name: 'apiKeyRing', at: expect.any(Number) }]); // the catch-up read

      const sentAt = Date.now();
      await publisher.publish(notice());
      await waitFor(() => store.calls.length === 2, 1000, 'the refresh after a notice');
      expect(store.calls[1]!.name).toBe('apiKeyRing');
      expect(store.calls[1]!.at - sentAt).toBeLessThan(1000);

      await publisher.publish(notice('rotate'));
      await waitFor(() => store.calls.length === 3, 1000, 'the refresh after a second notice');
    });

    it('runs exactly one more refresh for any number of notices that arrive during one', async () => {
      const store = recordingStore();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel }));
      await follower.subscribed();
      await waitFor(() => store.running === 0, 1000, 'the catch-up read to end');

      // A witness on the same channel tells when the burst has been delivered.
      const witness = rawClient();
      await witness.connect();
      let seen = 0;
      witness.on('message', () => seen++);
      await witness.subscribe(channel);

      let release!: () => void;
      store.gate = new Promise<void>((resolve) => (release = resolve));
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      await publisher.publish(notice());
      await waitFor(() => store.calls.length === 2, 1000, 'a refresh to start');

      for (let i = 0; i < 10; i++) await publisher.publish(notice());
      await waitFor(() => seen === 11, 1000, 'the burst to be delivered');
      await settle(50);
      expect(store.calls).toHaveLength(2); // none started while one runs

      store.gate = undefined;
      release();
      await waitFor(() => store.calls.length === 3, 1000, 'the one coalesced refresh');
      await settle(100);
      expect(store.calls).toHaveLength(3);
      expect(store.maxRunning).toBe(1);
    });

    it('rate-limits refreshes: a flood of notices inside minRefreshIntervalMs reads the ring no more', async () => {
      const store = recordingStore();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel, minRefreshIntervalMs: 60_000 }));
      await follower.subscribed();
      await waitFor(() => store.calls.length === 1 && store.running === 0, 1000, 'the catch-up read');

      const witness = rawClient();
      await witness.connect();
      let seen = 0;
      witness.on('message', () => seen++);
      await witness.subscribe(channel);
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      await Promise.all(Array.from({ length: 200 }, () => publisher.publish(notice())));
      await waitFor(() => seen === 200, 2000, 'the flood to be delivered');
      await settle(100);
      expect(store.calls).toHaveLength(1);
    });

    it('after a flood, a refresh that starts after the last notice always comes (the last change is never missed)', async () => {
      const store = recordingStore();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel, minRefreshIntervalMs: 200 }));
      await follower.subscribed();
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      for (let i = 0; i < 20; i++) await publisher.publish(notice());
      const lastSentAt = Date.now();
      await waitFor(() => store.calls.some((c) => c.at >= lastSentAt), 2000, 'a refresh after the last notice');
      // Starts are at least the interval apart.
      const starts = store.calls.map((c) => c.at);
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(199);
    });

    it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses minRefreshIntervalMs %p with CONFIG_INVALID', (minRefreshIntervalMs) => {
      expect(() => followKeyRing(recordingStore(), 'apiKeyRing', { url: REDIS_URL, channel, minRefreshIntervalMs })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    });

    it('ignores messages that are not change notices', async () => {
      const store = recordingStore();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel }));
      await follower.subscribed();
      const raw = rawClient();
      await raw.connect();

      for (const junk of ['', 'revoke', '{', 'null', '[]', '42', '{"action":"explode"}', JSON.stringify({ action: 'revoke', pad: 'x'.repeat(5000) })]) {
        await raw.publish(channel, junk);
      }
      await raw.publish(channel, JSON.stringify(notice()));
      // Messages on one connection arrive in order: once the notice is handled, the junk was too.
      await waitFor(() => store.calls.length >= 2, 1000, 'the refresh after the notice');
      await settle(100);
      expect(store.calls).toHaveLength(2);
    });

    it.each(['reject', 'throw'] as const)('swallows refreshes that %s, with no unhandled rejection, and keeps following', async (fail) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const store = recordingStore({ fail });
        const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel }));
        const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
        await follower.subscribed();
        await publisher.publish(notice());
        await waitFor(() => store.calls.length >= 2, 1000, 'the refresh after a first notice');
        await publisher.publish(notice());
        await waitFor(() => store.calls.length >= 3, 1000, 'the refresh after a second notice');
        await settle(20);
        expect(unhandled).toEqual([]);
        expect(follower.state).toBe('subscribed');
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });

  describe('with Redis away', () => {
    it('starts polling, reads every pollWhileAwayMs, and never reports subscribed', async () => {
      const port = await freePort();
      const store = recordingStore();
      const states: string[] = [];
      const startedAt = Date.now();
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: `redis://127.0.0.1:${port}`, channel, pollWhileAwayMs: 100, onStateChange: (s) => states.push(s) }));
      let subscribed = false;
      void follower.subscribed().then(() => (subscribed = true), () => {});

      await waitFor(() => store.calls.length >= 4, 3000, 'four polling reads');
      const elapsed = Date.now() - startedAt;
      expect(follower.state).toBe('polling');
      expect(subscribed).toBe(false);
      expect(states).toEqual([]);
      expect(store.calls.every((c) => c.name === 'apiKeyRing')).toBe(true);
      // Polling, not a busy loop: about one read per 100 ms.
      expect(store.calls.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    });

    it('falls back to polling when Redis goes away, and catches up and stops polling when it is back', async () => {
      const proxy = track(await tcpProxy(REDIS));
      const store = recordingStore();
      const states: string[] = [];
      let atSubscribe = -1;
      const follower: KeyRingFollower = track(
        followKeyRing(store, 'apiKeyRing', {
          url: `redis://127.0.0.1:${proxy.port}`,
          channel,
          pollWhileAwayMs: 100,
          onStateChange: (s) => {
            states.push(s);
            if (s === 'subscribed') atSubscribe = store.calls.length;
          },
        }),
      );
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      await follower.subscribed();
      await waitFor(() => store.running === 0, 1000, 'the catch-up read to end');
      expect(store.calls).toHaveLength(1);

      // Redis goes away.
      await proxy.cut();
      await waitFor(() => follower.state === 'polling', 2000, 'the polling state');
      const cutAt = store.calls.length;
      await waitFor(() => store.calls.length >= cutAt + 3, 2000, 'three polling reads');

      // Redis is back.
      await proxy.restore();
      await waitFor(() => follower.state === 'subscribed', 3000, 'the subscribed state again');
      expect(states).toEqual(['subscribed', 'polling', 'subscribed']);
      await waitFor(() => store.calls.length === atSubscribe + 1, 1000, 'the catch-up read');
      await settle(300); // three polling periods: polling must have stopped
      expect(store.calls).toHaveLength(atSubscribe + 1);

      await publisher.publish(notice());
      await waitFor(() => store.calls.length === atSubscribe + 2, 1000, 'the refresh after a notice');
      expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    });

    it('notices a connection that died silently (no close, no reset) by its unanswered PING, polls, and subscribes again', async () => {
      const proxy = track(await tcpProxy(REDIS));
      const store = recordingStore();
      const states: string[] = [];
      const follower: KeyRingFollower = track(
        followKeyRing(store, 'apiKeyRing', { url: `redis://127.0.0.1:${proxy.port}`, channel, pollWhileAwayMs: 100, heartbeatMs: 100, onStateChange: (s) => states.push(s) }),
      );
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      await follower.subscribed();
      await settle(350); // heartbeats answered: nothing changes on a healthy connection
      expect(states).toEqual(['subscribed']);

      // A partition: the socket stays open, but nothing comes back (a notice sent now is lost with it).
      proxy.freeze();
      await waitFor(() => states.includes('polling'), 2000, 'the dead connection noticed');
      await waitFor(() => follower.state === 'subscribed', 3000, 'a new connection subscribed');
      expect(states).toEqual(['subscribed', 'polling', 'subscribed']);
      expect(proxy.accepted).toBe(2);

      await waitFor(() => store.running === 0, 1000, 'the catch-up read to end');
      const before = store.calls.length;
      await publisher.publish(notice());
      await waitFor(() => store.calls.length === before + 1, 1000, 'the refresh after a notice');
    });
  });

  describe('close()', () => {
    it('is idempotent, stops polling, and no refresh happens afterwards', async () => {
      const port = await freePort();
      const password = canary('hunter2canary');
      const store = recordingStore();
      const follower = followKeyRing(store, 'apiKeyRing', { url: `redis://:${password}@127.0.0.1:${port}`, channel, pollWhileAwayMs: 50 });
      const subscribed = follower.subscribed();
      await waitFor(() => store.calls.length >= 1, 2000, 'a polling read');

      await follower.close();
      await follower.close();
      expect(follower.state).toBe('closed');
      const err = await subscribed.then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORE_CLOSED' });
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
      expectNoCanary({ message: (err as Error).message, json: JSON.stringify(err), stack: String((err as Error).stack) }, password);

      const closedAt = store.calls.length;
      await settle(200);
      expect(store.calls).toHaveLength(closedAt);
    });

    it('stops a subscribed follower: later notices refresh nothing', async () => {
      const store = recordingStore();
      const follower = followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel });
      const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
      await follower.subscribed();
      await Promise.all([follower.close(), follower.close()]);
      expect(follower.state).toBe('closed');
      await expect(follower.subscribed()).resolves.toBeUndefined(); // it did subscribe once

      const closedAt = store.calls.length;
      await publisher.publish(notice());
      await settle(200);
      expect(store.calls).toHaveLength(closedAt);
    });
  });
});
