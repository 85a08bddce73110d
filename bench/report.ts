import { performance } from 'node:perf_hooks';
import { SecretStore, type SecretDeclarations, type SecretProvider } from '@keyward/core';

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

/** Milliseconds a store takes to start (its bootstrap) with `provider` for every secret; closed afterwards. */
export async function timeStoreStart(provider: SecretProvider, secrets: SecretDeclarations, concurrency: number): Promise<number> {
  const start = performance.now();
  const store = await new SecretStore({ app: 'bench', environment: 'bench', providers: { bench: provider }, secrets, concurrency }).start();
  const elapsed = performance.now() - start;
  await store.close();
  return elapsed;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Options of {@link compareBootstrap}. */
interface BootstrapComparison {
  readonly name: string;
  readonly against: string;
  /** One Keyward bootstrap at this concurrency, in ms. */
  readonly keyward: (concurrency: number) => Promise<number>;
  /** One sequential load, in ms (it does not depend on the concurrency, so it is timed only for the main line). */
  readonly sequential: () => Promise<number>;
  readonly runs: number;
  /** The concurrency of the main line. */
  readonly concurrency: number;
  /** Secrets loaded, and the latency the backend adds to every request: the floor follows from them. */
  readonly secrets: number;
  readonly latencyMs: number;
  /**
   * Ids per batch call, when the provider coalesces the reads in flight into batch calls
   * (BatchGetSecretValue: 20). The floor stays one latency per round of `concurrency` reads, as
   * a round's batch calls go out together; the line also says how many calls that makes.
   */
  readonly batchSize?: number;
  /** What the last Keyward run observed (batch calls sent, most in flight), added to its line. */
  readonly observed?: () => Readonly<Record<string, unknown>>;
  /** More concurrencies to time Keyward alone at (`sweepRuns` runs each, default `runs`), one line each, named `<name>.concurrency-<n>`. */
  readonly sweep?: readonly number[];
  readonly sweepRuns?: number;
}

/**
 * The least a bootstrap at `concurrency` can take: `latencyMs` per round of `concurrency` reads,
 * `ceil(secrets / concurrency)` rounds. With batching, a round of `concurrency` reads is
 * `ceil(concurrency / batchSize)` batch calls sent at once.
 */
function bootstrapFloor(options: { secrets: number; latencyMs: number; concurrency: number; batchSize?: number }): Record<string, unknown> & { floorMs: number } {
  const { secrets, latencyMs, concurrency, batchSize } = options;
  const rounds = Math.ceil(secrets / concurrency);
  const floorMs = latencyMs * rounds;
  const roundsOf = `${rounds} round${rounds === 1 ? '' : 's'}`;
  if (batchSize === undefined) {
    return { floorMs, floorBasis: `${latencyMs} ms x ceil(${secrets} / ${concurrency}) = ${roundsOf} of reads` };
  }
  const perRound = Math.min(concurrency, secrets);
  const full = Math.floor(secrets / perRound);
  const rest = secrets - full * perRound;
  const batchCalls = full * Math.ceil(perRound / batchSize) + Math.ceil(rest / batchSize);
  const inParallel = Math.ceil(perRound / batchSize);
  return {
    floorMs,
    floorBasis: `${latencyMs} ms x ${roundsOf} of ${inParallel} batch call${inParallel === 1 ? '' : 's'} (${batchSize} ids a call) at once: ${batchCalls} batch calls`,
    floorBatchCalls: batchCalls,
    floorBatchCallsInParallel: inParallel,
  };
}

/**
 * Times Keyward's bootstrap and a sequential loader in turns, `runs` times each, and reports the
 * medians side by side with the ratio, and against the floor: the latency times the rounds of
 * reads the concurrency allows (see {@link bootstrapFloor}). With `sweep`, Keyward alone again at
 * other concurrencies, against the same sequential median.
 */
export async function compareBootstrap(options: BootstrapComparison): Promise<void> {
  const k: number[] = [];
  const s: number[] = [];
  let observed: Readonly<Record<string, unknown>> = {};
  // One of each first, not measured: the first bootstraps of a process run cold (JIT, first
  // connections) and took twice as long, which the sweep lines after them never showed.
  await options.keyward(options.concurrency);
  await options.sequential();
  for (let i = 0; i < options.runs; i++) {
    k.push(await options.keyward(options.concurrency));
    observed = options.observed?.() ?? {};
    s.push(await options.sequential());
  }
  const sequentialMs = median(s);
  const line = (name: string, concurrency: number, keywardMs: number, runs: number, seen: Readonly<Record<string, unknown>>) => {
    const floor = bootstrapFloor({ secrets: options.secrets, latencyMs: options.latencyMs, concurrency, ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
    report({
      name,
      unit: 'ms',
      value: round(keywardMs),
      comparison: {
        against: options.against,
        keywardMs: round(keywardMs),
        sequentialMs: round(sequentialMs),
        speedup: round(sequentialMs / keywardMs, 2),
        concurrency,
        secrets: options.secrets,
        latencyMs: options.latencyMs,
        ...floor,
        toFloor: round(keywardMs / floor.floorMs, 2),
        // The most this concurrency allows: the sequential load over the floor.
        speedupAtFloor: round(sequentialMs / floor.floorMs, 2),
        ...seen,
        runs,
        statistic: 'median',
      },
    });
  };
  line(options.name, options.concurrency, median(k), options.runs, observed);
  const sweepRuns = options.sweepRuns ?? options.runs;
  for (const concurrency of options.sweep ?? []) {
    const times: number[] = [];
    for (let i = 0; i < sweepRuns; i++) {
      times.push(await options.keyward(concurrency));
      observed = options.observed?.() ?? {};
    }
    line(`${options.name}.concurrency-${concurrency}`, concurrency, median(times), sweepRuns, observed);
  }
}
