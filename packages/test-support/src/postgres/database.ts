import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import pg from 'pg';

/** A password PostgreSQL accepts in a literal without quoting trouble. */
export function randomPassword(label = 'pw'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** Runs `work` on a fresh superuser client, then ends it. */
export async function asAdmin<T>(postgres: RunningPostgres, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = await postgres.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** The table every workload writes to. */
export const LEDGER_TABLE = 'ledger';

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (id bigserial PRIMARY KEY, worker int NOT NULL, who text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;

/** `CREATE TABLE ledger` if it is not there. */
export async function createLedger(postgres: RunningPostgres): Promise<void> {
  await asAdmin(postgres, (admin) => admin.query(CREATE_LEDGER));
}

/** The `GRANT`s a role needs to read and write the ledger. */
export function ledgerGrants(role: string): string[] {
  return [`GRANT SELECT, INSERT ON ${LEDGER_TABLE} TO ${role}`, `GRANT USAGE ON SEQUENCE ${LEDGER_TABLE}_id_seq TO ${role}`];
}

/** A login role with `password` that may use the ledger (created if need be). */
export async function createLoginRole(postgres: RunningPostgres, name: string, password: string): Promise<void> {
  await asAdmin(postgres, async (admin) => {
    await admin.query(CREATE_LEDGER);
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    for (const grant of ledgerGrants(pg.escapeIdentifier(name))) await admin.query(grant);
  });
}

/** `ALTER ROLE … PASSWORD`: what a single-user rotation does to the database. */
export async function setPassword(postgres: RunningPostgres, name: string, password: string): Promise<void> {
  await asAdmin(postgres, (admin) => admin.query(`ALTER ROLE ${pg.escapeIdentifier(name)} PASSWORD ${pg.escapeLiteral(password)}`));
}

export interface Session {
  readonly pid: number;
  readonly user: string;
  readonly applicationName: string;
}

/** Client sessions on the database other than the admin's own (`pg_stat_activity`). */
export async function sessions(postgres: RunningPostgres): Promise<Session[]> {
  return asAdmin(postgres, async (admin) => {
    const { rows } = await admin.query<{ pid: number; usename: string; application_name: string }>(
      `SELECT pid, usename, application_name FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename <> $1`,
      [postgres.user],
    );
    return rows.map((r) => ({ pid: r.pid, user: r.usename, applicationName: r.application_name }));
  });
}

/** Polls `check` every 20 ms until it holds, up to `timeoutMs`; then fails naming `what` and the last value seen. */
export async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Logs in once as `user` with `password`: 'ok', or the SQLSTATE of the refusal. */
export async function tryLogin(postgres: RunningPostgres, user: string, password: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, database: postgres.database, user, password });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (err) {
    return String((err as { code?: string }).code);
  }
}

/**
 * For a test file: an embedded PostgreSQL started before its tests with one login role, stopped
 * after them. Read `.postgres` inside the tests (it is set once `beforeAll` has run).
 */
export function postgresWithLoginRole(name: string, password: string, options: Parameters<typeof startEmbeddedPostgres>[0] = {}): { readonly postgres: RunningPostgres } {
  const holder = {} as { postgres: RunningPostgres };
  beforeAll(async () => {
    holder.postgres = await startEmbeddedPostgres(options);
    await createLoginRole(holder.postgres, name, password);
  }, 60_000);
  afterAll(async () => {
    await holder.postgres?.stop();
  });
  return holder;
}
