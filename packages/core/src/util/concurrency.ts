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

/** The signal of one call with a deadline, and the means to let go of it. */
export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** True once the deadline (not the caller's signal) aborted it. */
  readonly timedOut: boolean;
  /** Clears the timer and the listener on the caller's signal; call it when the call has settled. */
  done(): void;
}

/**
 * A signal that aborts after `ms` or when `parent` does, for calls made many times a second:
 * unlike `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, `done()` clears its timer and its
 * listener on `parent` at once, so none piles up until the deadline or the next GC.
 */
export function deadlineSignal(ms: number, parent?: AbortSignal): DeadlineSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, Math.min(ms, MAX_TIMER_MS));
  timer.unref();
  const onAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    done() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
