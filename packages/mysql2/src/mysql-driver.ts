import { KeywardError, untilAborted, type PoolDriver } from '@keyward/core';
import mysql, { type ConnectionOptions } from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { coreOf, hidePasswords, isUsable } from './connection-state.js';
import { isMysqlAuthFailure } from './mysql-auth-failure.js';
import { mysqlLogin, type MysqlCredentials } from './mysql-credentials.js';

/**
 * mysql2 connection options for every connection of a pool: host, port, database, ssl, charset,
 * timezone... The login comes from the credentials, so it has no place here; nor do mysql2's own
 * pool options.
 */
export type MysqlConnectionSettings = Omit<
  ConnectionOptions,
  | 'user'
  | 'password'
  | 'password1'
  | 'password2'
  | 'password3'
  | 'passwordSha1'
  | 'uri'
  | 'stream'
  | 'isServer'
  | 'pool'
  | 'Promise'
  | 'connectionLimit'
  | 'maxIdle'
  | 'idleTimeout'
  | 'queueLimit'
  | 'waitForConnections'
>;

/** What a pool built on `mysqlDriver()` hears about its connections. */
export interface MysqlDriverHooks {
  /**
   * An open connection failed outside any query (the server closed it, the network dropped).
   * It is not used again: the pool discards it at the next checkout.
   */
  onError?(error: Error, connection: Connection): void;
}

/** Connections the pool destroyed on purpose: their last error is no news. */
const destroyedByPool = new WeakSet<object>();

/**
 * The mysql2 driver for a `CredentialPool`: opens promise connections with each generation's
 * credentials, proves a generation with `SELECT 1`, and tells a refused login (errno 1045, 1698,
 * 1862) from other failures. An open connection's `error` event never crashes the process.
 *
 * @example
 * const pool = new CredentialPool(storeCredentials<MysqlCredentials>(store, 'database'),
 *   mysqlDriver({ host: '127.0.0.1', database: 'billing' }), { max: 10 });
 */
export function mysqlDriver(settings: MysqlConnectionSettings = {}, hooks: MysqlDriverHooks = {}): PoolDriver<Connection, MysqlCredentials> {
  return {
    connect: (credentials, signal) => connectMysql({ ...settings, ...mysqlLogin(credentials) }, signal, hooks),
    check: async (connection, signal) => {
      await untilAborted(connection.query('SELECT 1'), signal);
    },
    close: closeMysql,
    destroy: destroyMysql,
    isAuthFailure: isMysqlAuthFailure,
  };
}

function connectMysql(options: ConnectionOptions, signal: AbortSignal, hooks: MysqlDriverHooks): Promise<Connection> {
  if (signal.aborted) return Promise.reject(connectAborted(signal, options));
  const core = mysql.createConnection(options);
  hidePasswords(core.config);
  const connection = core.promise();
  let open = false;
  // Without a listener, a connection's 'error' event (server gone, socket reset) would crash the process.
  core.on('error', (error) => {
    if (open && !destroyedByPool.has(connection)) hooks.onError?.(error, connection);
  });
  return new Promise<Connection>((resolve, reject) => {
    const settle = () => {
      signal.removeEventListener('abort', onAbort);
      core.off('connect', onConnect);
      core.off('error', onError);
    };
    const onAbort = () => {
      settle();
      destroyMysql(connection);
      reject(connectAborted(signal, options));
    };
    const onConnect = () => {
      settle();
      open = true;
      resolve(connection);
    };
    const onError = (error: Error) => {
      settle();
      destroyMysql(connection);
      reject(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    core.once('connect', onConnect);
    core.once('error', onError);
  });
}

function connectAborted(signal: AbortSignal, { host = 'localhost', port = 3306 }: ConnectionOptions): KeywardError {
  if (KeywardError.is(signal.reason)) return signal.reason;
  return new KeywardError('POOL_TIMEOUT', `connecting to MySQL at ${host}:${port} timed out (connectTimeout)`, { cause: signal.reason });
}

const CLOSE_TIMEOUT_MS = 5000;

/** Sends COM_QUIT; a connection that is already broken, or does not take the QUIT in time, is destroyed. */
async function closeMysql(connection: Connection): Promise<void> {
  if (!isUsable(connection)) return destroyMysql(connection);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS);
    timer.unref();
  });
  const ended = connection.end().then(() => false);
  if (await Promise.race([ended, timedOut])) destroyMysql(connection);
  clearTimeout(timer);
}

/**
 * Ends a connection at once. mysql2's own `destroy()` only half-closes the socket, so a statement
 * in flight keeps the connection (and its old credentials) until it ends, however long; destroying
 * the socket rejects that statement with POOL_CLOSED now. The server still runs the statement to
 * its end: MariaDB notices a vanished client only then.
 */
function destroyMysql(connection: Connection): void {
  destroyedByPool.add(connection);
  const stream = coreOf(connection).stream;
  if (stream !== undefined && stream.destroyed !== true) {
    stream.destroy(new KeywardError('POOL_CLOSED', 'the pool closed this MySQL connection (drainTimeout passed, or the pool ended)'));
  }
  connection.destroy();
}
