import { describe, expect, it } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { rewrapAll, type RewrapItem, type RewrapProgress } from './rewrap-all.js';

const items = (n: number): RewrapItem<number>[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, envelope: `old-${i + 1}` }));

describe('rewrapAll', () => {
  it('resumes after the last envelope with everything before it done, even when they finish out of order', async () => {
    const progress: RewrapProgress<number>[] = [];
    const run = rewrapAll(
      items(10),
      async (item) => {
        if (item.id === 3) await new Promise((resolve) => setTimeout(resolve, 30));
        if (item.id === 6) throw new KeywardError('KEK_UNAVAILABLE', 'key service down');
        return `new-${item.id}`;
      },
      { save: () => undefined, concurrency: 3, onProgress: (p) => progress.push(p) },
    );
    await expect(run).rejects.toMatchObject({ code: 'KEK_UNAVAILABLE' });
    const last = progress.at(-1)!;
    expect(last.resumeAfter).toBe(5); // 1..5 finished; 6 stopped the run
    expect(last.rewrapped).toBeGreaterThanOrEqual(5);
  });

  it('stops on a failed save and on an abort, and never saves an unchanged envelope', async () => {
    const saved: number[] = [];
    await expect(
      rewrapAll(items(5), async (item) => (item.id % 2 ? `new-${item.id}` : item.envelope), {
        save: ({ id }) => {
          if (id === 3) throw new Error('disk full');
          saved.push(id);
        },
        concurrency: 1,
      }),
    ).rejects.toThrow('disk full');
    expect(saved).toEqual([1]);
    const controller = new AbortController();
    controller.abort(new Error('stopped by operator'));
    await expect(rewrapAll(items(3), async () => 'x', { save: () => undefined, signal: controller.signal })).rejects.toThrow('stopped by operator');
  });

  it('reads async iterables, one item at a time per worker', async () => {
    async function* rows() {
      for (const item of items(20)) yield item;
    }
    const summary = await rewrapAll(rows(), async (item) => `new-${item.id}`, { save: () => undefined, concurrency: 4 });
    expect(summary).toMatchObject({ seen: 20, rewrapped: 20, failed: 0, resumeAfter: 20 });
  });
});
