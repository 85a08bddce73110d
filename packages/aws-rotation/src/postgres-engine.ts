import pg from 'pg';
import type { ConnectOptions, DatabaseEngine, DatabaseSession } from './database-engine.js';
import type { DatabaseSecret } from './database-secret.js';

async function connect(secret: DatabaseSecret, options: ConnectOptions): Promise<pg.Client> {
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
  return client;
}

async function withSession<T>(secret: DatabaseSecret, options: ConnectOptions, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(secret, options);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * DDL takes no bind parameters in PostgreSQL, so the password goes in as a literal escaped by the
 * driver (`escapeLiteral` doubles quotes and backslashes and uses E'' when needed).
 */
const setPassword = (client: pg.Client, user: string, password: string) =>
  client.query(`ALTER ROLE ${client.escapeIdentifier(user)} WITH PASSWORD ${client.escapeLiteral(password)}`);

/**
 * PostgreSQL: `ALTER ROLE ... WITH PASSWORD`, and for alternating users a `<user>_clone` role made a
 * member of the original role, so it has the original's rights.
 *
 * @example
 * const rotate = createRotationHandler({ engine: postgresEngine, strategy: 'single-user' });
 */
export const postgresEngine: DatabaseEngine = {
  async login(secret, options): Promise<DatabaseSession> {
    const client = await connect(secret, options);
    return {
      async selectOne() {
        await client.query('SELECT 1');
      },
      end: () => client.end().catch(() => {}),
    };
  },
  setOwnPassword: (secret, password, options) =>
    withSession(secret, options, async (client) => {
      await setPassword(client, secret.username, password);
    }),
  setAlternateUser: (admin, original, user, password, options) =>
    withSession(admin, options, async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
      if (rowCount === 0) await client.query(`CREATE ROLE ${client.escapeIdentifier(user)} WITH LOGIN`);
      // Repeated on every run: a run that stopped after CREATE ROLE still ends with the grant.
      await client.query(`GRANT ${client.escapeIdentifier(original)} TO ${client.escapeIdentifier(user)}`);
      await setPassword(client, user, password);
    }),
};
