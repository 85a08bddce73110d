import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ScheduleRegistryScheduler } from './schedule-registry.scheduler.js';

describe('ScheduleRegistryScheduler', () => {
  let registry: SchedulerRegistry;
  let scheduler: ScheduleRegistryScheduler;

  beforeEach(() => {
    jest.useFakeTimers();
    registry = new SchedulerRegistry();
    scheduler = new ScheduleRegistryScheduler(registry);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs the task as a named interval of the registry until cancelled', () => {
    let runs = 0;
    const cancel = scheduler.every('keyward.refresh.apiToken', 50, () => runs++);
    expect(registry.getIntervals()).toEqual(['keyward.refresh.apiToken']);
    jest.advanceTimersByTime(160);
    expect(runs).toBe(3);
    cancel();
    expect(registry.getIntervals()).toEqual([]);
    jest.advanceTimersByTime(500);
    expect(runs).toBe(3);
  });

  it('does not keep the process alive', () => {
    jest.useRealTimers();
    const cancel = scheduler.every('keyward.refresh.apiToken', 60_000, () => {});
    expect(registry.getInterval<NodeJS.Timeout>('keyward.refresh.apiToken').hasRef()).toBe(false);
    cancel();
  });

  it('cancels quietly after ScheduleModule removed the interval at shutdown', () => {
    let runs = 0;
    const cancel = scheduler.every('keyward.refresh.apiToken', 50, () => runs++);
    registry.deleteInterval('keyward.refresh.apiToken');
    expect(() => cancel()).not.toThrow();
    jest.advanceTimersByTime(200);
    expect(runs).toBe(0);
  });

  it('leaves alone an interval that took the name since', () => {
    let runs = 0;
    const cancel = scheduler.every('keyward.refresh.apiToken', 50, () => {});
    registry.deleteInterval('keyward.refresh.apiToken');
    const other = setInterval(() => runs++, 50);
    registry.addInterval('keyward.refresh.apiToken', other);
    cancel();
    expect(registry.getIntervals()).toEqual(['keyward.refresh.apiToken']);
    jest.advanceTimersByTime(100);
    expect(runs).toBe(2);
    registry.deleteInterval('keyward.refresh.apiToken');
  });

  it('refuses a name already taken, without starting a timer', () => {
    let runs = 0;
    scheduler.every('keyward.refresh.apiToken', 50, () => {});
    expect(() => scheduler.every('keyward.refresh.apiToken', 50, () => runs++)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    jest.advanceTimersByTime(200);
    expect(runs).toBe(0);
    registry.deleteInterval('keyward.refresh.apiToken');
  });
});
