import pg from 'pg';
import type { DatabaseEngine, DatabaseSession } from './database-engine.js';
import { SCRAM_ITERATIONS, scramPasswordProblem, scramVerifier } from './scram-verifier.js';

/** The server's `scram_iterations` (PostgreSQL 16+), else PostgreSQL's default. */
async function scramIterations(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ iterations: string | null }>("SELECT current_setting('scram_iterations', true) AS iterations");
  const iterations = Number(rows[0]?.iterations);
  return Number.isInteger(iterations) && iterations > 0 ? iterations : SCRAM_ITERATIONS;
}

/**
 * The role gets a SCRAM-SHA-256 verifier computed here, never the password: PostgreSQL writes the
 * text of a failed statement (and of every DDL with `log_statement = ddl`) to its log. DDL takes no
 * bind parameters; the verifier holds no secret, so an escaped literal is fine.
 */
async function setPassword(client: pg.Client, user: string, password: string): Promise<void> {
  const verifier = await scramVerifier(password, await scramIterations(client));
  await client.query(`ALTER ROLE ${client.escapeIdentifier(user)} WITH PASSWORD ${client.escapeLiteral(verifier)}`);
}

/**
 * PostgreSQL (10 or later): `ALTER ROLE ... WITH PASSWORD '<SCRAM verifier>'`, and for alternating
 * users a `<user>_clone` role made a member of the original role, so it has the original's rights.
 */
export const postgresEngine: DatabaseEngine = {
  passwordProblem: scramPasswordProblem,
  async login(secret, options): Promise<DatabaseSession> {
    const client = new pg.Client({
      host: secret.host,
      port: secret.port ?? 5432,
      user: secret.username,
      password: secret.password,
      database: secret.dbname ?? 'postgres',
      ssl: options.ssl,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    });
    client.on('error', () => {}); // a dropped session fails its next query instead of the process
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return {
      async selectOne() {
        await client.query('SELECT 1');
      },
      async setOwnPassword(password) {
        await setPassword(client, secret.username, password);
      },
      async setAlternateUser(original, user, password) {
        if (user !== original) {
          const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
          if (rowCount === 0) await client.query(`CREATE ROLE ${client.escapeIdentifier(user)} WITH LOGIN`);
          // Repeated on every run: a run that stopped after CREATE ROLE still ends with the grant.
          await client.query(`GRANT ${client.escapeIdentifier(original)} TO ${client.escapeIdentifier(user)}`);
        }
        await setPassword(client, user, password);
      },
      end: () => client.end().catch(() => {}),
    };
  },
};
