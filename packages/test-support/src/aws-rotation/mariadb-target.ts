import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { MARIADB, mariadbSandbox } from '../mariadb/mariadb-sandbox.js';
import { readAs, type DatabaseTarget } from './database-target.js';

/** Throw-away users and a database with a table `rotation_data` on the machine's MariaDB. */
export async function mariadbTarget(label: string): Promise<DatabaseTarget> {
  const sandbox = await mariadbSandbox(label);
  const { admin, database, prefix } = sandbox;
  await admin.query(`CREATE TABLE \`${database}\`.rotation_data (n int)`);
  await admin.query(`INSERT INTO \`${database}\`.rotation_data VALUES (1)`);
  const base = { engine: 'mysql', host: MARIADB.host, port: MARIADB.port, dbname: database };
  // Root has no password here, and a secret needs one: the master is a user with every right.
  const masterName = `${prefix}_admin`;
  const masterPassword = randomBytes(12).toString('base64url');
  await sandbox.createUser(masterName, masterPassword);
  await admin.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [masterName, '%']);
  const users: string[] = [];
  return {
    engine: 'mysql',
    master: { ...base, username: masterName, password: masterPassword },
    async createUser(name, password) {
      users.push(name);
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
      await admin.query(`GRANT SELECT ON \`${database}\`.rotation_data TO ?@?`, [name, '%']);
      return { ...base, username: name, password };
    },
    login: (secret) =>
      readAs(
        () => mysql.createConnection({ host: secret.host, port: secret.port, user: secret.username, password: secret.password, database: secret.dbname }),
        'ER_ACCESS_DENIED_ERROR',
        (connection) => connection.query('SELECT n FROM rotation_data'),
        (connection) => connection.end(),
      ),
    async dispose() {
      for (const name of users) {
        await sandbox.dropUser(name);
        await sandbox.dropUser(`${name}_clone`);
      }
      await sandbox.dispose();
    },
  };
}
