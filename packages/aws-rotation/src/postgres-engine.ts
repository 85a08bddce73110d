import pg from 'pg';
import type { DatabaseEngine, DatabaseSession } from './database-engine.js';

/**
 * DDL takes no bind parameters in PostgreSQL, so the password goes in as a literal escaped by the
 * driver (`escapeLiteral` doubles quotes and backslashes and uses E'' when needed).
 */
const setPassword = (client: pg.Client, user: string, password: string) =>
  client.query(`ALTER ROLE ${client.escapeIdentifier(user)} WITH PASSWORD ${client.escapeLiteral(password)}`);

/**
 * PostgreSQL: `ALTER ROLE ... WITH PASSWORD`, and for alternating users a `<user>_clone` role made a
 * member of the original role, so it has the original's rights.
 */
export const postgresEngine: DatabaseEngine = {
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
