import type { SecretStore } from '@keyward/core';
import type { RequestHandler } from 'express';

/**
 * Answers the store's health: 200 for `ok` and `degraded`, 503 for `down`. Names, versions and
 * ages only, never a value or a path.
 *
 * @example app.get('/health', keywardHealth(store));
 */
export function keywardHealth(store: Pick<SecretStore, 'health'>): RequestHandler {
  return (_req, res) => {
    const health = store.health();
    res.status(health.status === 'down' ? 503 : 200).set('Cache-Control', 'no-store').json(health);
  };
}
