import { keywardHealthReport, type KeywardHealthReport, type KeywardHealthSources, type SecretStore } from '@keyward/core';
import type { RequestHandler } from 'express';

/** What the health answer covers besides the store: the audit trail (and whether its routes are fail-closed) and credential pools. */
export type KeywardHealthOptions = Omit<KeywardHealthSources, 'store'>;

/** The body `keywardHealth` answers. */
export type KeywardHealthAnswer = KeywardHealthReport;

/**
 * Answers `keywardHealthReport` (`@keyward/core`) over HTTP: 200 for `ok` and `degraded`, 503 for
 * `down`, never cached. The body is `{ status, checkedAt, checks: { store, audit?, pools? } }`:
 * names, versions, ages and counts, never a value or a path. A failing audit trail makes the
 * answer `degraded`, or `down` (503) with `failClosed: true`; a pool that has ended makes it `down`.
 *
 * @example
 * app.get('/health', keywardHealth(store));
 * app.get('/health', keywardHealth(store, { audit: trail, pools: { database: pgPool } }));   // degraded while the trail fails
 * app.get('/health', keywardHealth(store, { audit: trail, failClosed: true }));             // 503 while it fails
 */
export function keywardHealth(store: Pick<SecretStore, 'health'>, options: KeywardHealthOptions = {}): RequestHandler {
  return (_req, res) => {
    const report = keywardHealthReport({ ...options, store });
    res.status(report.status === 'down' ? 503 : 200).set('Cache-Control', 'no-store').json(report);
  };
}
