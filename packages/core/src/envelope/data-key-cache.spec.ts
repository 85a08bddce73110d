import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { cacheLimits, DataKeyCache } from './data-key-cache.js';

describe('DataKeyCache', () => {
  const caches: DataKeyCache<string>[] = [];
  const cacheOf = (options: Parameters<typeof cacheLimits>[0]) => {
    const cache = new DataKeyCache<string>(cacheLimits(options));
    caches.push(cache);
    return cache;
  };
  afterEach(() => {
    jest.restoreAllMocks();
    for (const cache of caches.splice(0)) cache.close();
  });
  const filler = () => {
    const made: Buffer[] = [];
    return { made, create: async () => { const dataKey = Buffer.alloc(32, made.length + 1); made.push(dataKey); return { dataKey, extra: `key ${made.length}` }; } };
  };

  it('makes one key for many callers missing together, and counts each one a message', async () => {
    const cache = cacheOf({ maxAge: '1m', maxMessages: 4 });
    const { made, create } = filler();
    const used = await Promise.all(Array.from({ length: 10 }, () => cache.with('p', 1, create, (_key, extra) => extra)));
    expect(made).toHaveLength(3);
    expect(used.filter((e) => e === 'key 1')).toHaveLength(4);
    expect(made[0]!.every((b) => b === 0)).toBe(true); // evicted once spent: wiped
  });

  it('evicts by age, by bytes and by capacity, wiping what it evicts', async () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = cacheOf({ maxAge: '10s', maxBytes: 100, capacity: 2 });
    const { made, create } = filler();
    await cache.with('a', 60, create, () => undefined);
    await cache.with('a', 40, create, () => undefined);
    expect(made).toHaveLength(1);
    await cache.with('a', 1, create, () => undefined); // 101 bytes: a new key
    expect(made).toHaveLength(2);
    now += 10_000;
    await cache.with('a', 1, create, () => undefined); // too old
    expect(made).toHaveLength(3);
    await cache.with('b', 1, create, () => undefined);
    await cache.with('c', 1, create, () => undefined); // capacity 2: 'a' goes
    expect(cache.size).toBe(2);
    expect(made.slice(0, 3).every((key) => key.every((b) => b === 0))).toBe(true);
    expect(cache.bypasses(101)).toBe(true);
  });

  it('keeps nothing from a failed fill, so the next caller tries again', async () => {
    const cache = cacheOf({ maxAge: '1m' });
    let calls = 0;
    const create = async () => {
      calls += 1;
      if (calls === 1) throw new KeywardError('KEK_UNAVAILABLE', 'down');
      return { dataKey: Buffer.alloc(32, 9), extra: 'ok' };
    };
    await expect(cache.with('p', 1, create, () => 'used')).rejects.toMatchObject({ code: 'KEK_UNAVAILABLE' });
    expect(await cache.with('p', 1, create, (_k, extra) => extra)).toBe('ok');
  });

  it('refuses limits that would never cache or always loop', () => {
    for (const bad of [{}, { maxAge: 0 }, { maxAge: '1m', maxMessages: 0 }, { maxAge: '1m', maxMessages: 2 ** 33 }, { maxAge: '1m', capacity: 1.5 }]) {
      expect(() => cacheLimits(bad as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
