// What every scenario shares: a temporary folder, the standard load, the store's event log, and
// the one JSON line it prints.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretStore } from '@keyward/core';
import { report } from '../report.js';
import type { ChaosSecrets } from './backends.js';
import { checkTrail, FAILED, OUTCOME, round, startLoad, type LoadResult, type LoadRoute, type RunningLoad } from './load.js';

export const CLIENTS = 50;
/** A request without an answer by then is failed (the pool's acquireTimeout is 5 s). */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Runs `body` with a fresh temporary folder, removed afterwards whatever happens. */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-chaos-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The usual mix: a third each of secret reads, PostgreSQL queries and fail-closed signatures. */
export function mixedRoutes(key: string): LoadRoute[] {
  return [
    { kind: 'secret', key },
    { kind: 'db', key },
    { kind: 'sign', key },
  ];
}

/** 50 clients on the usual mix, for `durationMs` (stop earlier with `stop()`). */
export function standardLoad(url: string, secrets: ChaosSecrets, durationMs: number, idPrefix: string): RunningLoad {
  return startLoad({
    url,
    groups: [{ clients: CLIENTS, routes: mixedRoutes(secrets.keys['load']!.key) }],
    durationMs,
    maxRequests: 2_000_000,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    idPrefix,
    sessionSecret: secrets.sessionSecret,
  });
}

/** The store's events with their times (names and codes only), for the report. */
export function storeEvents(store: SecretStore) {
  const events: { at: number; event: string; name: string; detail?: string }[] = [];
  store.on('refreshFailed', (e) => events.push({ at: Date.now(), event: 'refreshFailed', name: e.name, detail: e.error.code }));
  store.on('recovered', (e) => events.push({ at: Date.now(), event: 'recovered', name: e.name }));
  store.on('rotated', (e) => events.push({ at: Date.now(), event: 'rotated', name: e.name, detail: `${e.previous.version} -> ${e.current.version}` }));
  store.on('leaseRenewed', (e) => events.push({ at: Date.now(), event: 'leaseRenewed', name: e.name }));
  store.on('leaseRevoked', (e) => events.push({ at: Date.now(), event: 'leaseRevoked', name: e.name }));
  store.on('stale', (e) => events.push({ at: Date.now(), event: 'stale', name: e.name }));
  return events;
}

/** Failed requests by reason, and the totals every line carries. */
export function tally(load: LoadResult, keep: (i: number) => boolean = () => true) {
  const failedRequests = load.select((i) => keep(i) && FAILED.has(load.outcome(i))).length;
  return {
    requests: load.select(keep).length,
    served: load.countOf(OUTCOME.ok, keep),
    refused: load.countOf(OUTCOME.refused, keep),
    failedRequests,
    p99Ms: load.percentile(99, (i) => keep(i) && load.outcome(i) === OUTCOME.ok),
    maxMs: load.maxLatency(keep),
  };
}

/** Prints one `chaos.*` line: value = failed requests; lost records and everything measured in `comparison`. */
export function reportChaos(name: string, details: Record<string, unknown> & { failedRequests: number; lostRecords: number }, failureReasons: Readonly<Record<string, number>>): void {
  const reasons = Object.keys(failureReasons).length === 0 ? {} : { failureReasons };
  report({ name, unit: 'failed requests', value: details.failedRequests, comparison: { ...details, ...reasons } });
}

export { checkTrail, round };

export const seconds = (ms: number | undefined | null) => (ms === undefined || ms === null ? null : round(ms / 1000, 2));
