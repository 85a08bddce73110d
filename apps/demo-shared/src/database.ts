import { auditPool, type AuditTrail, type SecretStore } from '@keyward/core';
import { KeywardPgPool } from '@keyward/pg';
import type pg from 'pg';
import type { DemoSecrets } from './secrets.js';

/** Where the demo database is (`DEMO_DB_HOST`, `DEMO_DB_PORT`, `DEMO_DB_NAME`), if there is one. */
export function demoDatabaseAddress(env: NodeJS.ProcessEnv = process.env): { host: string; port: number; database: string } | undefined {
  if (!env['DEMO_DB_PORT']) return undefined;
  return { host: env['DEMO_DB_HOST'] ?? '127.0.0.1', port: Number(env['DEMO_DB_PORT']), database: env['DEMO_DB_NAME'] ?? 'app' };
}

/** The demo's database access: one Keyward pool that follows the credentials' rotations. */
export interface DemoDatabase {
  /** Asks PostgreSQL who it is logged in as, and says whether that is the current credentials' user (never the name itself). */
  check(): Promise<{ status: 'ok' | 'not configured'; credentials?: string; generation?: number; loggedInAsCurrentUser?: boolean }>;
  close(): Promise<void>;
  /** Runs a statement on the pool; absent when not configured. */
  readonly query?: <R extends object = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<{ rows: R[] }>;
  /** The pools to report in health (`keywardHealth(store, { pools })`, the terminus indicator) and metrics: none when not configured. */
  readonly pools: Readonly<Record<string, KeywardPgPool>>;
}

/**
 * Opens the demo's pool on the store's `database` credentials, logging a line per generation
 * switch and per drained generation, so a rotation can be watched live.
 *
 * @example const db = openDemoDatabase(store, console.log); await db.check();
 */
export function openDemoDatabase(
  store: SecretStore<DemoSecrets>,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  audit?: AuditTrail,
): DemoDatabase {
  const address = demoDatabaseAddress(env);
  if (address === undefined) return { check: async () => ({ status: 'not configured' }), close: async () => {}, pools: {} };
  const pool = new KeywardPgPool({ store, secret: 'database', ...address, max: 5, min: 1 });
  // Generation switches and drains in the audit trail too (pool.generation, pool.drained).
  const stopAudit = audit === undefined ? () => {} : auditPool(audit, pool, 'database');
  let generation = pool.stats().generations[0]?.id ?? 1;
  pool.on('generation', (e) => {
    generation = e.id;
    log(`database pool: generation ${e.id} (credentials ${e.version}) took over from generation ${e.previous}`);
  });
  pool.on('drained', (e) => log(`database pool: generation ${e.id} closed (idle ${e.closedIdle}, on release ${e.closedOnRelease}, forced ${e.forced})`));
  pool.on('error', (err) => log(`database pool: an idle connection failed (${(err as { code?: string }).code ?? err.name})`));
  return {
    async check() {
      const { rows } = await pool.query<{ user: string }>('SELECT current_user AS user');
      const current = store.get('database');
      return { status: 'ok', credentials: String(current), generation, loggedInAsCurrentUser: rows[0]?.user === current.reveal().username };
    },
    query: async <R extends object>(text: string, values?: unknown[]) => ({ rows: (await pool.query<R & pg.QueryResultRow>(text, values)).rows }),
    close: async () => {
      await pool.end();
      stopAudit();
    },
    pools: { database: pool },
  };
}
