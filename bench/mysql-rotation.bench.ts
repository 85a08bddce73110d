// Queries per second, p99 latency and failed queries of a Keyward MySQL pool (createMysqlPool) and
// of a plain mysql2 pool, side by side on the machine's MariaDB (127.0.0.1:3306, root without a
// password): in steady state, and while the credentials rotate
//   - single-user: the password changes (ALTER USER), the username stays;
//   - dynamic users: each rotation is a new user (as Vault's database engine issues), and the old
//     user is revoked (its sessions killed, the user dropped) once the store lets its lease go.
//     Vault's default revocation only drops the user; killing its sessions too makes a pool that
//     still uses them fail its queries.
// The server is shared: everything happens in a database of this run's own, keyward_bench_<run>,
// with users named kw_bench_<run>_..., all dropped at the end, also when the bench fails.
import { randomBytes } from 'node:crypto';
import { createMysqlPool } from '@keyward/mysql2';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { MAX, measurePool, measureScenarios, reportRotation, type BenchLogins, type PoolKind, type Result, type Scenario } from './rotation-load.js';

const MARIADB = { host: '127.0.0.1', port: 3306 } as const;

/** This run's database and users on the shared server, made as root. */
class MariadbLogins {
  readonly database: string;
  readonly #prefix: string;

  private constructor(
    private readonly admin: Connection,
    run: string,
  ) {
    this.database = `keyward_bench_${run}`;
    this.#prefix = `kw_bench_${run}_`;
  }

  static async open(): Promise<MariadbLogins> {
    const admin = await mysql.createConnection({ ...MARIADB, user: 'root', password: '' });
    admin.on('error', () => {}); // a lost admin session fails its next statement, not the process
    const logins = new MariadbLogins(admin, randomBytes(3).toString('hex'));
    try {
      await admin.query(`CREATE DATABASE \`${logins.database}\``);
    } catch (err) {
      await admin.end().catch(() => {});
      throw err;
    }
    return logins;
  }

  /** The logins of one scenario: `kw_bench_<run>_app` with a new password each time, or `kw_bench_<run>_app_<n>`. */
  for(scenario: Scenario): BenchLogins {
    return {
      login: async (n, password) => {
        if (scenario === 'dynamic-users') return this.#createUser(`${this.#prefix}app_${n}`, password);
        const username = `${this.#prefix}app`;
        if (n === 1) return this.#createUser(username, password);
        await this.admin.query('ALTER USER ?@? IDENTIFIED BY ?', [username, '%', password]);
        return username;
      },
      revoke: (username) => this.#dropUser(username),
      dropAll: () => this.#dropUsers(),
    };
  }

  /** Drops this run's users and database, and ends the root session. */
  async dispose(): Promise<void> {
    try {
      await this.#dropUsers();
      await this.admin.query(`DROP DATABASE IF EXISTS \`${this.database}\``);
    } finally {
      await this.admin.end().catch(() => {});
    }
  }

  async #createUser(name: string, password: string): Promise<string> {
    await this.admin.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
    await this.admin.query(`GRANT SELECT ON \`${this.database}\`.* TO ?@?`, [name, '%']);
    return name;
  }

  /** Ends the user's sessions and drops it. */
  async #dropUser(name: string): Promise<void> {
    const [sessions] = await this.admin.query<RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [name]);
    // A session may end by itself meanwhile (unknown thread id): it is gone either way.
    for (const { id } of sessions) await this.admin.query('KILL CONNECTION ?', [Number(id)]).catch(() => {});
    await this.admin.query('DROP USER IF EXISTS ?@?', [name, '%']);
  }

  async #dropUsers(): Promise<void> {
    const [users] = await this.admin.query<RowDataPacket[]>('SELECT User AS user FROM mysql.user WHERE LEFT(User, ?) = ?', [this.#prefix.length, this.#prefix]);
    for (const { user } of users) await this.#dropUser(String(user));
  }
}

function runOne(mariadb: MariadbLogins, scenario: Scenario, kind: PoolKind): Promise<Result> {
  const connection = { ...MARIADB, database: mariadb.database };
  return measurePool(scenario, mariadb.for(scenario), (store, first) =>
    kind !== 'plain'
      ? createMysqlPool({ store, secret: 'database', connection, connectionLimit: MAX, ...(kind === 'keyward-surge' ? { rotationSurge: MAX } : {}) })
      : // mysql2 takes no password function: its pool logs in with the credentials it was made with.
        mysql.createPool({ ...connection, connectionLimit: MAX, user: first.username, password: first.password }),
  );
}

export async function run(): Promise<void> {
  const mariadb = await MariadbLogins.open();
  try {
    const results = await measureScenarios((scenario, kind) => runOne(mariadb, scenario, kind));
    reportRotation('mysql-pool', { against: 'mysql2 pool (createPool) with the first credentials: mysql2 takes no password function', key: 'mysql2Pool' }, results);
  } finally {
    await mariadb.dispose();
  }
}
