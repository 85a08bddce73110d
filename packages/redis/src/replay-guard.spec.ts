import { describe, expect, it } from '@jest/globals';
import { isKeywardError } from '@keyward/core';
import { freePort } from '@keyward/testing';
import { closeAfterEach } from '@keyward/test-support';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisReplayGuard } from './replay-guard.js';
import { REDIS_URL, silentServer } from './spec-support/index.js';

/** The KeywardError code `promise` rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isKeywardError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('redisReplayGuard', () => {
  const track = closeAfterEach();
  const prefix = () => `keyward-test:${randomBytes(6).toString('hex')}:`;

  it('lets one instance of two see a report first, the other sees the replay, and forgets it after the window', async () => {
    const shared = prefix();
    const [a, b] = [track(redisReplayGuard({ url: REDIS_URL, prefix: shared })), track(redisReplayGuard({ url: REDIS_URL, prefix: shared }))];
    // Both at once: Redis's SET NX makes exactly one the first.
    const firsts = await Promise.all([a.firstSeen('report-1', 500), b.firstSeen('report-1', 500)]);
    expect(firsts.sort()).toEqual([false, true]);
    expect(await a.firstSeen('report-1', 500)).toBe(false);
    expect(await b.firstSeen('report-2', 500)).toBe(true);
    // The key expires with the window, so Redis does not keep every report forever.
    const admin = new Redis(REDIS_URL);
    track({ close: async () => void (await admin.quit()) });
    const ttl = await admin.pttl(`${shared}report-1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(500);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await b.firstSeen('report-1', 500)).toBe(true);
  });

  it('rejects with PROVIDER_UNAVAILABLE when Redis is away and PROVIDER_TIMEOUT when it hangs, within the timeout, and after close', async () => {
    const away = track(redisReplayGuard({ url: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 300 }));
    expect(await codeOf(away.firstSeen('r', 1000))).toBe('PROVIDER_UNAVAILABLE');
    const silent = await silentServer();
    track(silent);
    const hanging = track(redisReplayGuard({ url: `redis://127.0.0.1:${silent.port}`, timeoutMs: 300 }));
    const started = Date.now();
    expect(await codeOf(hanging.firstSeen('r', 1000))).toBe('PROVIDER_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1000);
    const closed = redisReplayGuard({ url: REDIS_URL });
    await closed.close();
    expect(await codeOf(closed.firstSeen('r', 1000))).toBe('PROVIDER_UNAVAILABLE');
    expect(() => redisReplayGuard({ timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
