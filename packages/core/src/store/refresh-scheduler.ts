/**
 * Runs the store's periodic refreshes. The default uses `setInterval`; a framework can supply
 * its own (the NestJS module registers named intervals in `SchedulerRegistry`).
 */
export interface RefreshScheduler {
  /** Calls `task` every `intervalMs` under the name `id`; returns a function that cancels it. */
  every(id: string, intervalMs: number, task: () => void): () => void;
}

/** Plain timers that never keep the process alive. */
export const timerScheduler: RefreshScheduler = {
  every(_id, intervalMs, task) {
    const handle = setInterval(task, intervalMs);
    handle.unref();
    return () => clearInterval(handle);
  },
};
