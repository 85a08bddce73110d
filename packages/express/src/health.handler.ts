import type { AuditHealth, AuditTrail, SecretStore, StoreHealth } from '@keyward/core';
import type { RequestHandler } from 'express';

export interface KeywardHealthOptions {
  /** An audit trail whose delivery state is answered under `audit`; a failing (or closed) trail makes the status `degraded`. */
  readonly audit?: Pick<AuditTrail, 'health'>;
  /**
   * Answer 503 while the audit trail is failing (default `false`: only a `down` store is a 503).
   * Use it when the service's routes are fail-closed, so that a load balancer sends traffic elsewhere.
   */
  readonly failClosed?: boolean;
}

/** The health answer: the store's, plus the audit trail's delivery state when one is given. */
export type KeywardHealthAnswer = StoreHealth & { readonly audit?: AuditHealth };

/**
 * Answers the store's health: 200 for `ok` and `degraded`, 503 for `down`. Names, versions and
 * ages only, never a value or a path. With `audit`, the trail's `health()` (status, written,
 * failed, pending, last failure code) is answered under `audit`, and a trail that is not `ok`
 * makes an `ok` store `degraded` (still 200, unless `failClosed: true`, then 503).
 *
 * @example
 * app.get('/health', keywardHealth(store));
 * app.get('/health', keywardHealth(store, { audit: trail }));                      // degraded while the trail fails
 * app.get('/health', keywardHealth(store, { audit: trail, failClosed: true }));    // 503 while it fails
 */
export function keywardHealth(store: Pick<SecretStore, 'health'>, options: KeywardHealthOptions = {}): RequestHandler {
  return (_req, res) => {
    const health = store.health();
    let answer: KeywardHealthAnswer = health;
    let unavailable = health.status === 'down';
    if (options.audit !== undefined) {
      const audit = options.audit.health();
      const failing = audit.status !== 'ok';
      answer = { ...health, status: failing && health.status === 'ok' ? 'degraded' : health.status, audit };
      if (failing && options.failClosed === true) unavailable = true;
    }
    res.status(unavailable ? 503 : 200).set('Cache-Control', 'no-store').json(answer);
  };
}
