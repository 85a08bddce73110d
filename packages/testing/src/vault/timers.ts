/** setTimeout refuses delays above 2^31-1 ms (about 24.8 days); longer waits are chained. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Every timer of one dev server: unref'd, so a forgotten server never holds the process open,
 * and all cleared at once by `clear()` (the server's close()).
 */
export class ServerTimers {
  private readonly handles = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  /** Runs `fn` at the wall-clock instant `atMs`; returns a cancel function. */
  at(atMs: number, fn: () => void): () => void {
    let handle: NodeJS.Timeout | undefined;
    const arm = () => {
      if (this.closed) return;
      const wait = Math.max(0, atMs - Date.now());
      handle = setTimeout(() => {
        if (handle) this.handles.delete(handle);
        if (atMs - Date.now() > 0) arm();
        else fn();
      }, Math.min(wait, MAX_DELAY_MS));
      handle.unref();
      this.handles.add(handle);
    };
    arm();
    return () => {
      if (handle) {
        clearTimeout(handle);
        this.handles.delete(handle);
      }
    };
  }

  after(ms: number, fn: () => void): () => void {
    return this.at(Date.now() + ms, fn);
  }

  /** A promise that resolves after `ms` (immediately when 0), or as soon as the server closes. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.sleepers.delete(done);
        resolve();
      };
      this.sleepers.add(done);
      this.after(ms, done);
    });
  }

  clear(): void {
    this.closed = true;
    for (const h of this.handles) clearTimeout(h);
    this.handles.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
