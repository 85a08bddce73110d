import pg from 'pg';
import { startEmbeddedPostgres } from '@keyward/testing';
import { readAs, type DatabaseTarget } from './database-target.js';

/**
 * An embedded PostgreSQL with a table `rotation_data` that users made here may read. Every session
 * but the setup one logs each statement, so `serverLog()` shows all SQL a rotation sent.
 */
export async function postgresTarget(): Promise<DatabaseTarget> {
  let log = '';
  const postgres = await startEmbeddedPostgres({ onLog: (text) => (log += text) });
  const admin = await postgres.connect();
  await admin.query('CREATE TABLE rotation_data (n int)');
  await admin.query('INSERT INTO rotation_data VALUES (1)');
  // Applies to sessions that start from now on: not to `admin`, which makes the users and their first passwords.
  await admin.query("ALTER ROLE ALL SET log_statement = 'all'");
  const base = { engine: 'postgres', host: postgres.host, port: postgres.port, dbname: postgres.database };
  let marks = 0;
  return {
    engine: 'postgres',
    master: { ...base, username: postgres.user, password: postgres.password },
    async createUser(name, password) {
      await admin.query(`CREATE ROLE ${admin.escapeIdentifier(name)} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
      await admin.query(`GRANT SELECT ON rotation_data TO ${admin.escapeIdentifier(name)}`);
      return { ...base, username: name, password };
    },
    login: (secret) =>
      readAs(
        async () => {
          const client = new pg.Client({ host: secret.host, port: secret.port, user: secret.username, password: secret.password, database: secret.dbname });
          await client.connect();
          return client;
        },
        '28P01',
        (client) => client.query('SELECT n FROM rotation_data'),
        (client) => client.end(),
      ),
    async serverLog() {
      // Statements that already answered were written to the server's stderr before this mark is.
      const mark = `keyward-log-mark-${++marks}`;
      const client = await postgres.connect();
      await client.query(`SELECT '${mark}'`).finally(() => client.end());
      for (let waited = 0; !log.includes(mark); waited += 10) {
        if (waited > 10_000) throw new Error('the PostgreSQL log never showed the mark statement');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return log;
    },
    async dispose() {
      await admin.end();
      await postgres.stop();
    },
  };
}
