import { describe, expect, it } from '@jest/globals';
import { deadlineSignal, delay, mapWithConcurrency, untilAborted, watchAbort, withJitter } from './concurrency.js';

describe('mapWithConcurrency', () => {
  it('never runs more than `limit` tasks at once and resolves in input order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const results = await mapWithConcurrency(items, 4, async (item) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Later items finish first, so order comes from the index and not from completion.
      await delay(2 + (20 - item) % 5);
      inFlight--;
      return item * 2;
    });
    expect(maxInFlight).toBe(4);
    expect(results).toEqual(items.map((i) => i * 2));
  });

  it('handles no items and a limit larger than the list', async () => {
    expect(await mapWithConcurrency([], 8, async () => 1)).toEqual([]);
    expect(await mapWithConcurrency([1, 2], 100, async (x) => x + 1)).toEqual([2, 3]);
  });
});

describe('delay', () => {
  it('rejects with the reason as soon as its signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const waiting = delay(60_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(delay(10, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('untilAborted', () => {
  it('settles like the promise when the signal stays quiet', async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7);
    const failure = new Error('failed');
    await expect(untilAborted(Promise.reject(failure), signal)).rejects.toBe(failure);
  });

  it('rejects with the signal reason for a promise that never settles', async () => {
    const controller = new AbortController();
    const pending = untilAborted(new Promise<never>(() => {}), controller.signal);
    controller.abort(new Error('closed'));
    await expect(pending).rejects.toThrow('closed');
    await expect(untilAborted(new Promise<never>(() => {}), AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});

describe('withJitter', () => {
  it('stays within ±ratio of the value, and is exact with ratio 0', () => {
    for (let i = 0; i < 200; i++) {
      const v = withJitter(1000, 0.1);
      expect(v).toBeGreaterThanOrEqual(900);
      expect(v).toBeLessThanOrEqual(1100);
    }
    expect(withJitter(1000, 0)).toBe(1000);
  });
});

describe('deadlineSignal', () => {
  it('aborts at its deadline, saying so', async () => {
    const deadline = deadlineSignal(20);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve, { once: true }));
    expect(deadline.timedOut).toBe(true);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
  });

  it("aborts with the caller's signal and its reason, not as a timeout", () => {
    const parent = new AbortController();
    const deadline = deadlineSignal(60_000, parent.signal);
    parent.abort(new Error('caller gave up'));
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('caller gave up');
    expect(deadline.timedOut).toBe(false);
    deadline.done();
    expect(deadlineSignal(60_000, parent.signal).signal.aborted).toBe(true); // an already aborted caller
  });

  it('follows several parents (the first to abort gives the reason) and, with no deadline, only them', async () => {
    const caller = new AbortController();
    const closing = new AbortController();
    const linked = deadlineSignal(undefined, [caller.signal, undefined, closing.signal]);
    await delay(30);
    expect(linked.signal.aborted).toBe(false);
    closing.abort(new Error('closing'));
    caller.abort(new Error('caller'));
    expect((linked.signal.reason as Error).message).toBe('closing');
    expect(linked.timedOut).toBe(false);
    const already = deadlineSignal(60_000, [new AbortController().signal, caller.signal]);
    expect((already.signal.reason as Error).message).toBe('caller');
    already.done();
  });

  it('done() lets go of every parent: none aborts it afterwards', () => {
    const parents = [new AbortController(), new AbortController()];
    const linked = deadlineSignal(60_000, parents.map((p) => p.signal));
    linked.done();
    for (const p of parents) p.abort();
    expect(linked.signal.aborted).toBe(false);
  });

  it('lets go of its timer and of the caller once done: neither aborts it afterwards', async () => {
    const parent = new AbortController();
    const deadline = deadlineSignal(20, parent.signal);
    deadline.done();
    parent.abort();
    await delay(60);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
  });
});

describe('watchAbort', () => {
  it('calls back once: at once for a parent already aborted, at the deadline saying so, and never after stop()', async () => {
    const seen: [unknown, boolean][] = [];
    const aborted = new AbortController();
    aborted.abort('gone');
    watchAbort(60_000, [aborted.signal], (reason, byDeadline) => seen.push([reason, byDeadline]));
    expect(seen).toEqual([['gone', false]]);

    const parent = new AbortController();
    watchAbort(20, parent.signal, (reason, byDeadline) => seen.push([(reason as Error).name, byDeadline]));
    await delay(60);
    parent.abort('late'); // after the deadline: nothing more
    expect(seen.slice(1)).toEqual([['TimeoutError', true]]);

    const stopped = new AbortController();
    const stop = watchAbort(20, stopped.signal, () => seen.push(['stopped', false]));
    stop();
    stopped.abort();
    await delay(40);
    expect(seen).toHaveLength(2);
  });
});
