// The main thread's side of the load: starts the worker, and reads its per-request numbers.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { verifyAuditFile, type AuditVerification } from '@keyward/core';
import { OUTCOME, type LoadOptions, type LoadRoute, type RawLoadResult } from './load-types.js';

export { OUTCOME, type LoadRoute } from './load-types.js';

export interface RunningLoad {
  readonly done: Promise<LoadResult>;
  /** Ends every client loop after its current request. */
  stop(): void;
}

/** Starts `options.groups` clients against the app; `done` resolves when their loops end. */
export function startLoad(options: LoadOptions): RunningLoad {
  // tsx's loader does not reach worker threads on Node 20: the worker registers it, then loads the TypeScript.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const script = JSON.stringify(new URL('./load-worker.ts', import.meta.url).href);
  const worker = new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${script}); });`, { eval: true, workerData: options });
  const done = new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', (raw: RawLoadResult) => resolve(new LoadResult(raw, options)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the load worker exited with ${code} before reporting`)));
  });
  // The worker ends itself at its deadline; this is a backstop against a hung one.
  const backstop = setTimeout(() => void worker.terminate(), options.durationMs + options.requestTimeoutMs + 30_000);
  backstop.unref();
  // Awaited by the scenario later: handled here too, so that a failed worker is not an unhandled rejection meanwhile.
  done.then(() => clearTimeout(backstop), () => clearTimeout(backstop));
  return { done, stop: () => worker.postMessage('stop') };
}

export class LoadResult {
  readonly routes: readonly LoadRoute[];

  constructor(
    readonly raw: RawLoadResult,
    readonly options: LoadOptions,
  ) {
    this.routes = options.groups.flatMap((g) => g.routes);
  }

  get count(): number {
    return this.raw.starts.length;
  }

  id(index: number): string {
    return `${this.options.idPrefix}${index}`;
  }

  /** Indexes of the requests `keep` selects. */
  select(keep: (i: number) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (keep(i)) out.push(i);
    return out;
  }

  outcome(i: number): number {
    return this.raw.outcomes[i]!;
  }

  kind(i: number): LoadRoute['kind'] {
    return this.routes[this.raw.routes[i]!]!.kind;
  }

  latency(i: number): number {
    return this.raw.ends[i]! - this.raw.starts[i]!;
  }

  /** Got an HTTP answer (any status). */
  answered(i: number): boolean {
    return this.raw.statuses[i]! > 0;
  }

  countOf(outcome: number, keep: (i: number) => boolean = () => true): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.raw.outcomes[i] === outcome && keep(i)) n++;
    return n;
  }

  /** The p-th percentile (0..100) of the latencies of the answered requests `keep` selects, in ms. */
  percentile(p: number, keep: (i: number) => boolean = () => true): number | null {
    const values = this.select((i) => this.answered(i) && keep(i)).map((i) => this.latency(i));
    if (values.length === 0) return null;
    values.sort((a, b) => a - b);
    return round(values[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!, 1);
  }

  maxLatency(keep: (i: number) => boolean = () => true): number | null {
    let max: number | null = null;
    for (let i = 0; i < this.count; i++) if (keep(i) && this.outcome(i) !== OUTCOME.pending) max = Math.max(max ?? 0, this.latency(i));
    return max === null ? null : round(max, 1);
  }
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The request ids of the `http.request` records in a trail file. */
export async function recordedRequestIds(file: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.includes('"http.request"')) continue;
    const record = JSON.parse(line) as { event?: string; request?: { id?: string } };
    if (record.event === 'http.request' && typeof record.request?.id === 'string') ids.add(record.request.id);
  }
  return ids;
}

/** Answered requests (those `keep` selects) whose record is not in the trail file, and the chain's verification. */
export async function checkTrail(file: string, auditKey: string, load: LoadResult, keep: (i: number) => boolean = () => true): Promise<{ lostRecords: number; chain: AuditVerification }> {
  const ids = await recordedRequestIds(file);
  let lostRecords = 0;
  for (let i = 0; i < load.count; i++) if (load.answered(i) && keep(i) && !ids.has(load.id(i))) lostRecords++;
  return { lostRecords, chain: await verifyAuditFile(file, auditKey) };
}

/** The outcomes that are failures in every scenario: network errors, timeouts, unexpected statuses, wrong bodies. */
export const FAILED: ReadonlySet<number> = new Set([OUTCOME.network, OUTCOME.timeout, OUTCOME.badStatus, OUTCOME.badBody]);
