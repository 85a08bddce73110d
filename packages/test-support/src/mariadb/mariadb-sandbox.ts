import { randomBytes } from 'node:crypto';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';

/** The machine's MariaDB (root with an empty password over TCP on loopback). */
export const MARIADB = { host: '127.0.0.1', port: 3306 } as const;

export interface MariadbSandbox {
  /** A root session. */
  readonly admin: Connection;
  /** A throw-away database; users made here get rights on it only. */
  readonly database: string;
  /** Every user and the database start with it, so sessions of this test file can be told apart. */
  readonly prefix: string;
  createUser(name: string, password: string): Promise<void>;
  setPassword(name: string, password: string): Promise<void>;
  dropUser(name: string): Promise<void>;
  /** Whether `mysql.user` still has the user. */
  userExists(name: string): Promise<boolean>;
  /** The sandbox users' sessions in `information_schema.PROCESSLIST`. */
  sessions(): Promise<{ id: number; user: string }[]>;
  /** Drops every user made here and the database, and ends the root session. */
  dispose(): Promise<void>;
}

/** A throw-away database and users on the machine's MariaDB, made as root. */
export async function mariadbSandbox(label: string): Promise<MariadbSandbox> {
  const admin = await mysql.createConnection({ ...MARIADB, user: 'root', password: '' }).catch((err: unknown) => {
    throw new Error(
      `MariaDB does not answer on ${MARIADB.host}:${MARIADB.port} as root; start it with ` +
        '`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`',
      { cause: err },
    );
  });
  admin.on('error', () => {}); // a lost admin session fails the next statement, not the process
  const prefix = `kw_${label}_${randomBytes(3).toString('hex')}`;
  const database = prefix;
  const users = new Set<string>();
  await admin.query(`CREATE DATABASE \`${database}\``);
  return {
    admin,
    database,
    prefix,
    async createUser(name, password) {
      users.add(name);
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.* TO ?@?`, [name, '%']);
    },
    async setPassword(name, password) {
      await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [name, '%', password]);
    },
    async dropUser(name) {
      await admin.query('DROP USER IF EXISTS ?@?', [name, '%']);
    },
    async userExists(name) {
      const [rows] = await admin.query<RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ?', [name]);
      return rows.length > 0;
    },
    async sessions() {
      const [rows] = await admin.query<RowDataPacket[]>(
        'SELECT ID AS id, USER AS user FROM information_schema.PROCESSLIST WHERE LEFT(USER, ?) = ? ORDER BY ID',
        [prefix.length, prefix],
      );
      return rows.map((r) => ({ id: Number(r['id']), user: String(r['user']) }));
    },
    async dispose() {
      for (const name of users) await admin.query('DROP USER IF EXISTS ?@?', [name, '%']);
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    },
  };
}
