import { SecretStore } from '@keyward/core';
import { createPgPool, type KeywardPgPool, type KeywardPgPoolEvents, type PgPoolSettings } from '@keyward/pg';
import type { RunningPostgres } from '@keyward/testing';
import { memoryProvider, type MemoryProvider } from '../memory-provider.js';

/** A started store whose secret `database` an in-memory provider serves (the test changes `memory.values`). */
export async function memoryStore(value: unknown): Promise<{ store: SecretStore; memory: MemoryProvider }> {
  const memory = memoryProvider({ database: value });
  const store = await new SecretStore({ app: 'spec', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: false }).start();
  return { store, memory };
}

/** What a pool told of its credentials, in order. */
export interface RotationEvents {
  readonly switches: KeywardPgPoolEvents['generation'][0][];
  readonly drains: KeywardPgPoolEvents['drained'][0][];
  readonly authRetries: KeywardPgPoolEvents['authRetry'][0][];
  readonly errors: Error[];
}

/**
 * A pool on `postgres` with the store's secret `database`, naming each session after its
 * generation (`application_name` = `keyward-<version>`), and the events it emits.
 */
export function scenarioPool(postgres: RunningPostgres, store: SecretStore, settings: PgPoolSettings = {}): { pool: KeywardPgPool; events: RotationEvents } {
  const pool = createPgPool({
    store,
    secret: 'database',
    host: '127.0.0.1',
    port: postgres.port,
    database: postgres.database,
    applicationName: ({ version }) => `keyward-${version}`,
    ...settings,
  });
  const events: RotationEvents = { switches: [], drains: [], authRetries: [], errors: [] };
  pool.on('generation', (e) => events.switches.push(e));
  pool.on('drained', (e) => events.drains.push(e));
  pool.on('authRetry', (e) => events.authRetries.push(e));
  pool.on('error', (e) => events.errors.push(e));
  return { pool, events };
}
