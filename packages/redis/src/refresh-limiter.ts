/** A rate-limited, coalescing trigger: `request()` as often as you like, `close()` to stop. */
export interface RefreshLimiter {
  request(): void;
  close(): void;
}

/**
 * Runs `refresh` on request, never two at once and never two starts closer than `minIntervalMs`:
 * requests meanwhile make one trailing run as soon as both allow it, so the last request is
 * always followed by a run that started after it. A run's failure is swallowed (the caller
 * reports its own).
 */
export function refreshLimiter(refresh: () => Promise<void>, { minIntervalMs }: { minIntervalMs: number }): RefreshLimiter {
  let running = false;
  let pending = false;
  let closed = false;
  let lastStart = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;

  function request(): void {
    if (closed) return;
    pending = true;
    if (!running && timer === undefined) startOrWait();
  }

  function startOrWait(): void {
    const wait = lastStart + minIntervalMs - Date.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        if (pending && !running && !closed) startOrWait();
      }, wait);
      timer.unref();
      return;
    }
    pending = false;
    running = true;
    lastStart = Date.now();
    void (async () => {
      try {
        await refresh();
      } catch {
        // Swallowed: the refresher reports its own failures; the next request retries.
      } finally {
        running = false;
        if (pending && !closed) startOrWait();
      }
    })();
  }

  return {
    request,
    close() {
      closed = true;
      pending = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
