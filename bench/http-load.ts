// autocannon for the HTTP benchmarks: typed (the package ships no types), in a worker thread so
// that the server under test keeps the main thread to itself.
import { createRequire } from 'node:module';

/** The part of autocannon's programmatic API the benchmarks use. */
export interface AutocannonOptions {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly workers: number;
  /** Stop after this many requests (before `duration` if it comes first). */
  readonly amount?: number;
}
export interface AutocannonResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly latency: { readonly p99: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
}
export const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => PromiseLike<AutocannonResult>;

/** What one measured run gives: requests per second and the p99 latency in ms. */
export interface Sample {
  readonly rps: number;
  readonly p99: number;
}
