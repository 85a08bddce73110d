import { randomInt } from 'node:crypto';
import pg from 'pg';
import { randomBase62 } from './ids.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

/**
 * Vault's default password policy: 20 characters of [a-zA-Z0-9-] with at least one lowercase,
 * one uppercase, one digit and one dash.
 */
export function generatePassword(): string {
  const all = LOWER + UPPER + DIGITS + '-';
  const chars = [LOWER, UPPER, DIGITS, '-'].map((set) => set[randomInt(set.length)]!);
  while (chars.length < 20) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** The postgresql plugin's default username template, `v-<display 8>-<role 8>-<random 20>-<unix>` (63 max). */
export function generateUsername(displayName: string, roleName: string, nowMs = Date.now()): string {
  return `v-${displayName.slice(0, 8)}-${roleName.slice(0, 8)}-${randomBase62(20)}-${Math.floor(nowMs / 1000)}`.slice(0, 63);
}

/** The plugin's expiration format, Go's `2006-01-02 15:04:05-0700`, in UTC. */
export function formatExpiration(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+0000`;
}

/** `{{name}}`-style substitution, as Vault's dbutil.QueryHelper does it (no quoting). */
export function renderStatement(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/** Splits statements on `;` unless one is a multi-statement block (contains END outside quotes). */
export function splitStatements(statements: readonly string[]): string[] {
  const out: string[] = [];
  for (const stmt of statements) {
    const unquoted = stmt.replace(/"[^"]*"|'[^']*'/g, '');
    if (/\bEND\b/.test(unquoted)) out.push(stmt);
    else out.push(...stmt.split(';').map((s) => s.trim()).filter((s) => s !== ''));
  }
  return out;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** One `database/config/:name` connection to a real PostgreSQL (a small pool). */
export class PostgresConnection {
  private readonly pool: pg.Pool;

  constructor(connectionString: string) {
    this.pool = new pg.Pool({ connectionString, max: 4, idleTimeoutMillis: 2_000, allowExitOnIdle: true, connectionTimeoutMillis: 10_000 });
    // An idle client dropped by the server must not crash the process.
    this.pool.on('error', () => {});
  }

  async verify(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Runs creation statements in one transaction. */
  async createUser(statements: readonly string[], values: Readonly<Record<string, string>>): Promise<void> {
    await this.inTransaction(splitStatements(statements).map((s) => renderStatement(s, values)));
  }

  /** Renewal: the role's renew statements, or `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`. */
  async renewUser(username: string, statements: readonly string[], expiration: string): Promise<void> {
    const stmts = statements.length > 0 ? statements : [`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`];
    await this.inTransaction(splitStatements(stmts).map((s) => renderStatement(s, { name: username, username, expiration })));
  }

  /**
   * Revocation: the role's revocation statements, or by default: end the role's sessions, revoke
   * its privileges (as Vault's defaultDeleteUser does), hand over what it owns, and drop it.
   */
  async revokeUser(username: string, statements: readonly string[]): Promise<void> {
    if (statements.length > 0) {
      await this.inTransaction(splitStatements(statements).map((s) => renderStatement(s, { name: username, username })));
      return;
    }
    const { rows } = await this.pool.query<{ exists: boolean }>('SELECT exists (SELECT rolname FROM pg_roles WHERE rolname=$1)', [username]);
    if (!rows[0]?.exists) return;
    await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [username]);
    const user = quoteIdent(username);
    const schemas = await this.pool.query<{ table_schema: string }>(
      'SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee=$1',
      [username],
    );
    const db = (await this.pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    const stmts = [
      ...schemas.rows.flatMap((r) => [
        `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA ${quoteIdent(r.table_schema)} FROM ${user}`,
        `REVOKE USAGE ON SCHEMA ${quoteIdent(r.table_schema)} FROM ${user}`,
      ]),
      `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM ${user}`,
      `REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM ${user}`,
      `REVOKE USAGE ON SCHEMA public FROM ${user}`,
      `REVOKE CONNECT ON DATABASE ${quoteIdent(db)} FROM ${user}`,
      `REASSIGN OWNED BY ${user} TO CURRENT_USER`,
      `DROP OWNED BY ${user}`,
    ];
    for (const stmt of stmts) await this.pool.query(stmt).catch(() => {});
    await this.pool.query(`DROP ROLE IF EXISTS ${user}`);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  private async inTransaction(statements: readonly string[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const stmt of statements) await client.query(stmt);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
