import { beforeEach, describe, expect, it } from '@jest/globals';
import { fileKeyRing, isKeywardError, keyRingAdmin, KeywardError } from '@keyward/core';
import { freePort } from '@keyward/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisKeyRingPublisher } from './key-ring-publisher.js';
import { canary, closeAfterEach, expectNoCanary, waitFor } from '@keyward/test-support';
import { notice, randomChannel, REDIS, REDIS_URL, silentServer, tcpProxy } from './spec-support/index.js';

/** The KeywardError `promise` rejects with, and how long it took. */
async function rejection(promise: Promise<unknown>): Promise<{ err: KeywardError; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (err) {
    if (!isKeywardError(err)) throw err;
    return { err, ms: Date.now() - started };
  }
  throw new Error('expected a rejection');
}

describe('redisKeyRingPublisher', () => {
  // Every publisher, client and proxy of a test is closed after it.
  const track = closeAfterEach();
  let channel: string;
  beforeEach(() => {
    channel = randomChannel();
  });

  it('publishes the notice as JSON on the channel', async () => {
    const subscriber = new Redis(REDIS_URL);
    track({ close: async () => void (await subscriber.quit()) });
    const received: string[] = [];
    subscriber.on('message', (from: string, message: string) => from === channel && received.push(message));
    await subscriber.subscribe(channel);

    const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
    const sent = notice('rotate');
    await publisher.publish(sent);
    await publisher.publish(notice('prune'));
    await waitFor(() => received.length === 2, 1000, 'both messages');
    expect(received[0]).toBe(JSON.stringify(sent));
    expect(JSON.parse(received[1]!)).toMatchObject({ action: 'prune' });
  });

  it('rejects with PROVIDER_UNAVAILABLE within its timeout when Redis is away, naming host:port and never the password', async () => {
    const port = await freePort();
    const password = canary('hunter2canary');
    const publisher = track(redisKeyRingPublisher({ url: `redis://:${password}@127.0.0.1:${port}`, channel, timeoutMs: 500 }));

    for (let attempt = 0; attempt < 2; attempt++) {
      const { err, ms } = await rejection(publisher.publish(notice()));
      expect(err.code).toBe('PROVIDER_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      expect(ms).toBeLessThan(500 + 250);
      expect(err.message).toBe(`redis at 127.0.0.1:${port} is unavailable (ECONNREFUSED)`);
      expect(err.cause).toBeUndefined();
      expectNoCanary({ message: err.message, json: JSON.stringify(err), stack: String(err.stack), inspected: String(Object.entries(err)) }, password);
    }
  });

  it('rejects with PROVIDER_TIMEOUT within its timeout when Redis does not answer', async () => {
    const silent = track(await silentServer());
    const password = canary('hunter2canary');
    const publisher = track(redisKeyRingPublisher({ url: `redis://:${password}@127.0.0.1:${silent.port}`, channel, timeoutMs: 300 }));

    const { err, ms } = await rejection(publisher.publish(notice()));
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(300 + 250);
    expect(err.message).toContain(`127.0.0.1:${silent.port}`);
    expectNoCanary({ message: err.message, json: JSON.stringify(err), stack: String(err.stack) }, password);
  });

  it('connects again on the next publish once Redis is back', async () => {
    const proxy = track(await tcpProxy(REDIS));
    const publisher = track(redisKeyRingPublisher({ url: `redis://127.0.0.1:${proxy.port}`, channel, timeoutMs: 500 }));
    await publisher.publish(notice());

    await proxy.cut();
    expect((await rejection(publisher.publish(notice()))).err.code).toBe('PROVIDER_UNAVAILABLE');

    await proxy.restore();
    await expect(publisher.publish(notice())).resolves.toBeUndefined();
  });

  it('close() is idempotent and publishing afterwards rejects', async () => {
    const publisher = redisKeyRingPublisher({ url: REDIS_URL, channel });
    await publisher.publish(notice());
    await Promise.all([publisher.close(), publisher.close()]);
    await publisher.close();
    expect((await rejection(publisher.publish(notice()))).err.code).toBe('PROVIDER_UNAVAILABLE');

    // Never connected: closes at once too.
    const idle = redisKeyRingPublisher({ url: REDIS_URL, channel });
    await idle.close();
    await idle.close();
  });

  it('refuses invalid options with CONFIG_INVALID', () => {
    expect(() => redisKeyRingPublisher({ timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => redisKeyRingPublisher({ channel: '' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('lets keyRingAdmin write with Redis away, reporting published: false and the code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-redis-'));
    track({ close: () => rm(dir, { recursive: true, force: true }) });
    const publisher = track(redisKeyRingPublisher({ url: `redis://127.0.0.1:${await freePort()}`, channel, timeoutMs: 300 }));
    const admin = keyRingAdmin({ backend: fileKeyRing(join(dir, 'apiKeyRing')), pepper: 'pepper-0123456789abcdef0123456789', env: 'live', publish: publisher.publish });

    const created = await admin.create({ client: 'billing', scopes: ['orders:read'] });
    expect(created).toMatchObject({ published: false, publishError: 'PROVIDER_UNAVAILABLE' });
    const revoked = await admin.revoke(created.keyId);
    expect(revoked).toMatchObject({ published: false, publishError: 'PROVIDER_UNAVAILABLE', entry: { status: 'revoked' } });
  });
});
