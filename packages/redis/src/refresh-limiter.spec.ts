import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { refreshLimiter } from './refresh-limiter.js';

describe('refreshLimiter', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** A refresh that records when it started and ends when the test says (or at once). */
  function refreshes() {
    const started: number[] = [];
    let hold: Promise<void> | undefined;
    let running = 0;
    let maxRunning = 0;
    return {
      started,
      get maxRunning() {
        return maxRunning;
      },
      holdNext(): () => void {
        let release!: () => void;
        hold = new Promise<void>((resolve) => (release = resolve));
        return release;
      },
      run: async () => {
        started.push(Date.now());
        running++;
        maxRunning = Math.max(maxRunning, running);
        const gate = hold;
        hold = undefined;
        try {
          await gate;
        } finally {
          running--;
        }
      },
    };
  }

  it('turns a flood of requests into one refresh now and one trailing refresh after the interval', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 1000 });
    for (let i = 0; i < 500; i++) limiter.request();
    await jest.advanceTimersByTimeAsync(999);
    expect(r.started).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(r.started).toEqual([0, 1000]); // the trailing one: the last change is read
    await jest.advanceTimersByTimeAsync(10_000);
    expect(r.started).toEqual([0, 1000]);
    limiter.close();
  });

  it('keeps at most one refresh per interval under a steady flood, and the last request is always followed by a refresh', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 1000 });
    for (let t = 0; t < 5000; t += 10) {
      limiter.request();
      await jest.advanceTimersByTimeAsync(10);
    }
    // The last request came at 4990: the refresh at 5000 started after it.
    expect(r.started).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(r.started).toHaveLength(6);
    limiter.close();
  });

  it('never runs two at once: requests during a long refresh make one more, right after it ends', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 1000 });
    const release = r.holdNext();
    limiter.request();
    await jest.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 50; i++) limiter.request();
    await jest.advanceTimersByTimeAsync(5000);
    expect(r.started).toEqual([0]);
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(r.started).toEqual([0, 5100]);
    expect(r.maxRunning).toBe(1);
    limiter.close();
  });

  it('a request after a quiet spell runs at once', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 1000 });
    limiter.request();
    await jest.advanceTimersByTimeAsync(3000);
    limiter.request();
    await jest.advanceTimersByTimeAsync(0);
    expect(r.started).toEqual([0, 3000]);
    limiter.close();
  });

  it('with minIntervalMs 0 only coalesces', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 0 });
    const release = r.holdNext();
    limiter.request();
    limiter.request();
    limiter.request();
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(r.started).toEqual([0, 0]);
    limiter.close();
  });

  it('close() drops the trailing refresh and ignores later requests', async () => {
    const r = refreshes();
    const limiter = refreshLimiter(r.run, { minIntervalMs: 1000 });
    limiter.request();
    limiter.request();
    limiter.close();
    limiter.request();
    await jest.advanceTimersByTimeAsync(5000);
    expect(r.started).toEqual([0]);
  });

  it('a refresh that throws or rejects is swallowed and the next request still runs', async () => {
    let calls = 0;
    const limiter = refreshLimiter(
      () => {
        calls++;
        if (calls === 1) throw new Error('sync');
        return Promise.reject(new Error('async'));
      },
      { minIntervalMs: 10 },
    );
    limiter.request();
    await jest.advanceTimersByTimeAsync(20);
    limiter.request();
    await jest.advanceTimersByTimeAsync(20);
    limiter.request();
    await jest.advanceTimersByTimeAsync(20);
    expect(calls).toBe(3);
    limiter.close();
  });
});
