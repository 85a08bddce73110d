import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseEngine, DatabaseSession } from './database-engine.js';

/** Users are addressed as `'name'@'%'`, the host RDS gives its users. */
const HOST = '%';

/**
 * MariaDB takes `SET PASSWORD` with a hash (so `PASSWORD(?)`), MySQL 5.7.6+ with the plain text;
 * either way a user may change its own password without CREATE USER (unlike `ALTER USER`).
 */
async function setOwnPassword(connection: Connection, password: string): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS version');
  const version = String(rows[0]?.['version'] ?? '');
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number);
  const hashed = /mariadb/i.test(version) || major < 5 || (major === 5 && (minor < 7 || (minor === 7 && patch < 6)));
  await connection.query(hashed ? 'SET PASSWORD = PASSWORD(?)' : 'SET PASSWORD = ?', [password]);
}

/** The original's grants re-addressed to `user` (the part after ` TO ` names the grantee and its password hash). */
async function copyGrants(connection: Connection, original: string, user: string): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [original, HOST]);
  for (const row of rows) {
    const grant = String(Object.values(row)[0]);
    const at = grant.lastIndexOf(' TO ');
    if (at < 0 || grant.startsWith('GRANT PROXY')) continue;
    const withGrantOption = grant.endsWith(' WITH GRANT OPTION') ? ' WITH GRANT OPTION' : '';
    await connection.query(`${grant.slice(0, at)} TO ?@?${withGrantOption}`, [user, HOST]);
  }
}

/**
 * MySQL and MariaDB: `SET PASSWORD` for single-user, and for alternating users a `<user>_clone`
 * made by the admin with the original's grants (copied from `SHOW GRANTS`).
 */
export const mysqlEngine: DatabaseEngine = {
  async login(secret, options): Promise<DatabaseSession> {
    const ssl = options.ssl === true ? {} : options.ssl || undefined;
    const connection = await mysql.createConnection({
      host: secret.host,
      port: secret.port ?? 3306,
      user: secret.username,
      password: secret.password,
      ...(secret.dbname ? { database: secret.dbname } : {}),
      ...(ssl ? { ssl: ssl as mysql.SslOptions } : {}),
      connectTimeout: options.connectTimeoutMs ?? 5000,
    });
    connection.on('error', () => {}); // a dropped session fails its next query instead of the process
    return {
      async selectOne() {
        await connection.query('SELECT 1');
      },
      setOwnPassword: (password) => setOwnPassword(connection, password),
      async setAlternateUser(original, user, password) {
        if (user !== original) {
          await connection.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, HOST, password]);
          // Repeated on every run: a run that stopped after CREATE USER still ends with the grants.
          await copyGrants(connection, original, user);
        }
        await connection.query('ALTER USER ?@? IDENTIFIED BY ?', [user, HOST, password]);
      },
      end: () => connection.end().catch(() => {}),
    };
  },
};
