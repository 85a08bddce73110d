// Test helpers for this package's specs only (the shared ones are in @keyward/test-support); not part of the published package (see tsconfig.json).
import { randomBytes } from 'node:crypto';
import type { KeyRingChangeNotice } from '@keyward/core';

export * from './tcp-proxy.js';

export const REDIS = { host: '127.0.0.1', port: 6379 } as const;
export const REDIS_URL = `redis://${REDIS.host}:${REDIS.port}`;

/** A channel no other test uses. */
export function randomChannel(): string {
  return `keyward-test:${randomBytes(8).toString('hex')}`;
}

/** A store stand-in that records each refresh; `gate` (when set) holds refreshes until it resolves. */
export function recordingStore(options: { fail?: 'reject' | 'throw' } = {}) {
  const store = {
    calls: [] as { name: string; at: number }[],
    running: 0,
    maxRunning: 0,
    gate: undefined as Promise<void> | undefined,
    refresh(name: string): Promise<void> {
      store.calls.push({ name, at: Date.now() });
      if (options.fail === 'throw') throw new Error('refresh failed (sync)');
      store.running++;
      store.maxRunning = Math.max(store.maxRunning, store.running);
      const gate = store.gate ?? Promise.resolve();
      return gate.then(() => {
        store.running--;
        if (options.fail === 'reject') throw new Error('refresh failed');
      });
    },
  };
  return store;
}

/** A notice as keyRingAdmin would publish it. */
export function notice(action: KeyRingChangeNotice['action'] = 'revoke'): KeyRingChangeNotice {
  return { action, revision: randomBytes(4).toString('hex'), keyId: 'kid', client: 'billing', at: new Date().toISOString() };
}

/** Waits `ms`: only to give a wrong implementation the time to do what it must not (never as the thing asserted). */
export function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
