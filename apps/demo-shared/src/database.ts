import type { SecretStore } from '@keyward/core';
import pg from 'pg';
import type { DemoSecrets } from './secrets.js';

/** Where the demo database is (`DEMO_DB_HOST`, `DEMO_DB_PORT`, `DEMO_DB_NAME`), if there is one. */
export function demoDatabaseAddress(env: NodeJS.ProcessEnv = process.env): { host: string; port: number; database: string } | undefined {
  if (!env['DEMO_DB_PORT']) return undefined;
  return { host: env['DEMO_DB_HOST'] ?? '127.0.0.1', port: Number(env['DEMO_DB_PORT']), database: env['DEMO_DB_NAME'] ?? 'app' };
}

/**
 * Logs in to the demo database with the store's current credentials and asks who it is: proof
 * that the dynamic credentials work, without showing them (the answer names the secret's
 * version, never the user).
 */
export async function checkDatabase(store: SecretStore<DemoSecrets>, env: NodeJS.ProcessEnv = process.env) {
  const address = demoDatabaseAddress(env);
  if (address === undefined) return { status: 'not configured' as const };
  const credentials = store.get('database');
  const { username, password } = credentials.reveal();
  const client = new pg.Client({ ...address, user: username, password, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ matches: boolean }>('SELECT current_user = $1 AS matches', [username]);
    return { status: 'ok' as const, credentials: String(credentials), loggedInAsThem: rows[0]?.matches === true };
  } finally {
    await client.end().catch(() => {});
  }
}
