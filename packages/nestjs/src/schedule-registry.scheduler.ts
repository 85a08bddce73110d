import { KeywardError, type RefreshScheduler } from '@keyward/core';
import type { SchedulerRegistry } from '@nestjs/schedule';

/**
 * Runs the store's refreshes as named intervals of `@nestjs/schedule`, so they show in
 * `SchedulerRegistry.getIntervals()` as `keyward.refresh.<name>`. KeywardModule uses it for you.
 *
 * @example
 * const store = new SecretStore({ ...options, scheduler: new ScheduleRegistryScheduler(schedulerRegistry) });
 */
export class ScheduleRegistryScheduler implements RefreshScheduler {
  readonly #registry: SchedulerRegistry;

  constructor(registry: SchedulerRegistry) {
    this.#registry = registry;
  }

  every(id: string, intervalMs: number, task: () => void): () => void {
    if (this.#registry.doesExist('interval', id)) {
      throw new KeywardError('CONFIG_INVALID', `SchedulerRegistry already has an interval named "${id}" (two stores declaring the same secret in one app?)`);
    }
    const handle = setInterval(task, intervalMs);
    handle.unref();
    this.#registry.addInterval(id, handle);
    return () => {
      // ScheduleModule removes every interval before shutdown hooks run, and the name may
      // since belong to another interval: remove only our own.
      if (this.#registry.doesExist('interval', id) && this.#registry.getInterval(id) === handle) {
        this.#registry.deleteInterval(id);
      } else {
        clearInterval(handle);
      }
    };
  }
}
