import { KeywardError } from '../errors/index.js';
import { parseDuration, type Duration } from '../util/duration.js';

/**
 * Limits of data-key caching, after the AWS Encryption SDK's caching materials manager: a cached
 * data key is used for new messages only while it is younger than `maxAge` and has encrypted fewer
 * than `maxMessages` messages and `maxBytes` bytes. Unwrapped data keys of envelopes being read are
 * kept for `maxAge` too. Evicted keys are overwritten with zeros.
 *
 * @example
 * createEnvelope({ kek, dataKeys: { cache: { maxAge: '5m', maxMessages: 10_000, maxBytes: 100 * 2 ** 20 } } })
 */
export interface DataKeyCacheOptions {
  /** How long a data key stays in the cache, from when it was made or unwrapped. Required. */
  maxAge: Duration;
  /** Messages one cached data key may encrypt (default and most 2^32, AES-GCM's bound for random IVs). */
  maxMessages?: number;
  /** Plaintext bytes one cached data key may encrypt (default 2^50). */
  maxBytes?: number;
  /** Cached keys at most, least recently used evicted first (default 1000): one per encryption context in use. */
  capacity?: number;
}

/** The limits, checked once. */
export interface CacheLimits {
  readonly maxAgeMs: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly capacity: number;
}

const MAX_MESSAGES = 2 ** 32;

export function cacheLimits(options: DataKeyCacheOptions): CacheLimits {
  if (typeof options !== 'object' || options === null || options.maxAge === undefined) {
    throw new KeywardError('CONFIG_INVALID', 'dataKeys.cache needs a maxAge (e.g. "5m")');
  }
  const maxAgeMs = parseDuration(options.maxAge, 'dataKeys.cache.maxAge');
  const count = (value: number | undefined, fallback: number, max: number, what: string): number => {
    const n = value ?? fallback;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new KeywardError('CONFIG_INVALID', `dataKeys.cache.${what} must be an integer from 1 to ${max}`);
    return n;
  };
  if (maxAgeMs <= 0) throw new KeywardError('CONFIG_INVALID', 'dataKeys.cache.maxAge must be above zero');
  return {
    maxAgeMs,
    maxMessages: count(options.maxMessages, MAX_MESSAGES, MAX_MESSAGES, 'maxMessages'),
    maxBytes: count(options.maxBytes, 2 ** 50, Number.MAX_SAFE_INTEGER, 'maxBytes'),
    capacity: count(options.capacity, 1000, 1_000_000, 'capacity'),
  };
}

interface Entry<T> {
  readonly dataKey: Buffer;
  readonly extra: T;
  readonly createdAt: number;
  messages: number;
  bytes: number;
}

/** What `create` makes for the cache: a data key in clear (the cache owns and wipes it) and what goes with it. */
export interface CacheFill<T> {
  readonly dataKey: Buffer;
  readonly extra: T;
}

/**
 * Data keys by partition (encryption context, or wrapped key), with one backend call per partition
 * at a time however many callers miss together. A key is only handed to `use` synchronously, so
 * an eviction (which zeroes it) can never happen while a caller holds it.
 */
export class DataKeyCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #filling = new Map<string, Promise<void>>();
  readonly #limits: CacheLimits;
  readonly #sweeper: NodeJS.Timeout;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(limits.maxAgeMs, 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True when a message of `bytes` can never come from the cache (bigger than `maxBytes`). */
  bypasses(bytes: number): boolean {
    return bytes > this.#limits.maxBytes;
  }

  /** Runs `use` on the partition's key, counting one message of `bytes`; makes the key with `create` when there is none usable. */
  async with<R>(partition: string, bytes: number, create: () => Promise<CacheFill<T>>, use: (dataKey: Buffer, extra: T) => R): Promise<R> {
    for (;;) {
      const entry = this.#take(partition, bytes);
      if (entry) return use(entry.dataKey, entry.extra);
      await this.#fill(partition, create);
    }
  }

  /** Wipes and forgets every key. */
  clear(): void {
    for (const partition of [...this.#entries.keys()]) this.#evict(partition);
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.clear();
  }

  #take(partition: string, bytes: number): Entry<T> | undefined {
    const entry = this.#entries.get(partition);
    if (entry === undefined) return undefined;
    const limits = this.#limits;
    if (Date.now() - entry.createdAt >= limits.maxAgeMs || entry.messages >= limits.maxMessages || entry.bytes + bytes > limits.maxBytes) {
      this.#evict(partition);
      return undefined;
    }
    entry.messages += 1;
    entry.bytes += bytes;
    // Most recently used last, so the first key of the map is the one to evict at capacity.
    this.#entries.delete(partition);
    this.#entries.set(partition, entry);
    return entry;
  }

  #fill(partition: string, create: () => Promise<CacheFill<T>>): Promise<void> {
    let filling = this.#filling.get(partition);
    if (filling === undefined) {
      filling = create()
        .then(({ dataKey, extra }) => {
          this.#evict(partition);
          this.#entries.set(partition, { dataKey, extra, createdAt: Date.now(), messages: 0, bytes: 0 });
          while (this.#entries.size > this.#limits.capacity) this.#evict(this.#entries.keys().next().value!);
        })
        .finally(() => this.#filling.delete(partition));
      this.#filling.set(partition, filling);
    }
    return filling;
  }

  #evict(partition: string): void {
    const entry = this.#entries.get(partition);
    if (entry === undefined) return;
    this.#entries.delete(partition);
    entry.dataKey.fill(0);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [partition, entry] of this.#entries) {
      if (now - entry.createdAt >= this.#limits.maxAgeMs) this.#evict(partition);
    }
  }
}
