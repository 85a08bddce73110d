import pg from 'pg';
import { startEmbeddedPostgres } from '@keyward/testing';
import { readAs, type DatabaseTarget } from './database-target.js';

/** An embedded PostgreSQL with a table `rotation_data` that users made here may read. */
export async function postgresTarget(): Promise<DatabaseTarget> {
  const postgres = await startEmbeddedPostgres();
  const admin = await postgres.connect();
  await admin.query('CREATE TABLE rotation_data (n int)');
  await admin.query('INSERT INTO rotation_data VALUES (1)');
  const base = { engine: 'postgres', host: postgres.host, port: postgres.port, dbname: postgres.database };
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
    async dispose() {
      await admin.end();
      await postgres.stop();
    },
  };
}
