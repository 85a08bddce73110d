import { setMaxListeners } from 'node:events';
/** Runs `task` over `items` with at most `limit` running at once; resolves in input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * The longest delay a Node timer holds (2^31-1 ms, about 24.8 days). Node runs a longer
 * `setTimeout`/`setInterval` after 1 ms instead (with a TimeoutOverflowWarning).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A promise that resolves after `ms`, or rejects with the signal's reason when it aborts. The timer never holds the process open. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(ms, MAX_TIMER_MS));
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `value` spread by ±`ratio` at random (0.1 gives 90%..110%), so that many instances do not act in step. */
export function withJitter(value: number, ratio: number): number {
  return Math.max(0, value * (1 + (Math.random() * 2 - 1) * ratio));
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts, so that a
 * provider that ignores its signal cannot hang a read past its timeout or past `close()`.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * `controller`, its signal taking any number of listeners: an object's close signal, which every
 * call in flight links to with `deadlineSignal` (Node warns past 10 listeners on one signal).
 */
export function unlimitedListeners(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/** The signal of one call with a deadline, and the means to let go of it. */
export interface DeadlineSignal {
  /** Hand this to the call: it aborts at the deadline or with a parent. */
  readonly signal: AbortSignal;
  /** True once the deadline (not a parent signal) aborted it. */
  readonly timedOut: boolean;
  /** Clears the timer and the listeners on the parent signals; call it when the call has settled. */
  done(): void;
}

/**
 * A signal that aborts after `ms` (none with `undefined`) or when any of `parents` does (with
 * its reason), for calls made many times a second: unlike
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, `done()` clears its timer and its
 * listeners on the parents at once, so none piles up until the deadline or the next GC. The
 * deadline aborts with a `TimeoutError` DOMException, as `AbortSignal.timeout()` does.
 *
 * @example
 * const deadline = deadlineSignal(5_000, [callerSignal, closing.signal]);
 * try {
 *   return await fetch(url, { signal: deadline.signal });
 * } finally {
 *   deadline.done();
 * }
 */
export function deadlineSignal(ms: number | undefined, parents?: AbortSignal | readonly (AbortSignal | undefined)[]): DeadlineSignal {
  const controller = new AbortController();
  let timedOut = false;
  const done = watchAbort(ms, parents, (reason, byDeadline) => {
    timedOut = byDeadline;
    controller.abort(reason);
  });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    done,
  };
}

/**
 * Calls `onEnd` once, when `ms` have passed (none with `undefined`; the reason a `TimeoutError`
 * DOMException, `byDeadline` true) or when one of `parents` aborts (its reason), at once if one
 * already has; returns the function that stops watching (the timer and the listeners go). For a
 * call that ends itself (`req.destroy()`) without building an AbortSignal of its own, which costs
 * microseconds per call; `deadlineSignal` is this with a signal.
 *
 * @example
 * const stop = watchAbort(10_000, [callerSignal], (reason) => req.destroy(reason instanceof Error ? reason : undefined));
 * req.on('close', stop);
 */
export function watchAbort(
  ms: number | undefined,
  parents: AbortSignal | readonly (AbortSignal | undefined)[] | undefined,
  onEnd: (reason: unknown, byDeadline: boolean) => void,
): () => void {
  const from = parents === undefined ? [] : isSignal(parents) ? [parents] : parents.filter((p): p is AbortSignal => p !== undefined);
  const listeners: [AbortSignal, () => void][] = [];
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const stop = () => {
    ended = true;
    clearTimeout(timer);
    for (const [parent, onAbort] of listeners) parent.removeEventListener('abort', onAbort);
    listeners.length = 0;
  };
  const end = (reason: unknown, byDeadline: boolean) => {
    if (ended) return;
    stop();
    onEnd(reason, byDeadline);
  };
  for (const parent of from) {
    if (parent.aborted) {
      end(parent.reason, false);
      return stop;
    }
    const onAbort = () => end(parent.reason, false);
    parent.addEventListener('abort', onAbort, { once: true });
    listeners.push([parent, onAbort]);
  }
  if (ms !== undefined) {
    timer = setTimeout(() => end(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'), true), Math.min(ms, MAX_TIMER_MS));
    timer.unref();
  }
  return stop;
}

function isSignal(value: AbortSignal | readonly (AbortSignal | undefined)[]): value is AbortSignal {
  return !Array.isArray(value);
}
