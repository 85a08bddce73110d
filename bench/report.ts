/** One result, printed as one JSON line: what was measured, in which unit, against what. */
export interface BenchResult {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly comparison: Readonly<Record<string, unknown>>;
}

export function report(result: BenchResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Times Keyward's bootstrap and a sequential loader in turns, `runs` times each, and reports the
 * medians side by side with the ratio.
 */
export async function compareBootstrap(options: {
  readonly name: string;
  readonly against: string;
  readonly keyward: () => Promise<number>;
  readonly sequential: () => Promise<number>;
  readonly runs: number;
  readonly concurrency: number;
}): Promise<void> {
  const k: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    k.push(await options.keyward());
    s.push(await options.sequential());
  }
  const keywardMs = median(k);
  const sequentialMs = median(s);
  report({
    name: options.name,
    unit: 'ms',
    value: round(keywardMs),
    comparison: {
      against: options.against,
      keywardMs: round(keywardMs),
      sequentialMs: round(sequentialMs),
      speedup: round(sequentialMs / keywardMs, 2),
      concurrency: options.concurrency,
      runs: options.runs,
      statistic: 'median',
    },
  });
}
