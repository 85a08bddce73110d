import { EventEmitter } from 'node:events';
import { CredentialPool, parseDuration, safeEmit, type CredentialPoolEvents, type GenerationStats, type PoolDriver, type PoolStats } from '@keyward/core';
import type { Connection, ExecuteValues, FieldPacket, QueryOptions, QueryResult, QueryValues } from 'mysql2/promise';
import { isUsable } from './connection-state.js';
import { ConnectionsByVersion } from './connections-by-version.js';
import type { MysqlCredentials } from './mysql-credentials.js';
import { mysqlDriver } from './mysql-driver.js';
import { MysqlPoolConnection } from './mysql-pool-connection.js';
import { credentialPoolOptions, credentialSourceOf, type MysqlPoolOptions } from './mysql-pool-options.js';

/**
 * The events a `MysqlPool` emits: mysql2's own (`connection`, `acquire`, `release`...) plus the credential pool's.
 */
export interface MysqlPoolEvents extends CredentialPoolEvents {
  /** A new connection logged in (set session variables here, as with mysql2). */
  connection: [Connection];
  /** A connection was checked out. */
  acquire: [MysqlPoolConnection];
  /** A connection was given back. */
  release: [MysqlPoolConnection];
  /** A checkout waits: every connection is busy and the pool is at `connectionLimit`. */
  enqueue: [];
  /** An open connection failed outside any query; it is discarded. Emitted only when someone listens. */
  error: [Error];
}

/**
 * One generation of a `MysqlPool`, with the MySQL thread ids of its connections (to find them in PROCESSLIST).
 */
export interface MysqlGenerationStats extends GenerationStats {
  /** The MySQL thread ids (`CONNECTION_ID()`) of this generation's open connections. */
  readonly threadIds: readonly number[];
}

/** A `MysqlPool`'s connections now, in total and by generation. */
export interface MysqlPoolStats extends PoolStats {
  readonly generations: readonly MysqlGenerationStats[];
}

/**
 * A mysql2-style promise pool whose credentials come from Keyward and rotate with no failed
 * query: new credentials get a new generation of connections, new checkouts go there, work on the
 * old connections finishes, and the old lease is let go only once they are all closed.
 *
 * @example
 * const pool = new MysqlPool({ store, secret: 'database', connection: { host: 'db', database: 'billing' }, connectionLimit: 10 });
 * const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM invoices WHERE id = ?', [42]);
 * pool.on('drained', (e) => log.info(`credentials ${e.version} retired`));
 */
export class MysqlPool extends EventEmitter<MysqlPoolEvents> {
  /** Events go out from inside its own work: a listener that throws must not break that work (see `safeEmit`). */
  readonly #emitSafely = safeEmit(this, 'MySQL pool');
  readonly #pool: CredentialPool<Connection, MysqlCredentials>;
  readonly #connections = new ConnectionsByVersion();

  /** Checks the options (CONFIG_INVALID); opens nothing until the first checkout or `warm()`. */
  constructor(options: MysqlPoolOptions) {
    super();
    const poolOptions = credentialPoolOptions(options);
    const settings = {
      connectTimeout: parseDuration(options.connectTimeout ?? '10s', 'connectTimeout'),
      ...options.connection,
    };
    const driver = mysqlDriver(settings, { onError: (error) => this.listenerCount('error') > 0 && this.#emitSafely('error', error) });
    this.#pool = new CredentialPool(this.#connections.watch(credentialSourceOf(options)), this.#tracked(driver), poolOptions);
    this.#pool.on('generation', (event) => this.#emitSafely('generation', event));
    this.#pool.on('generationFailed', (event) => this.#emitSafely('generationFailed', event));
    this.#pool.on('drained', (event) => this.#emitSafely('drained', event));
    this.#pool.on('authRetry', (event) => this.#emitSafely('authRetry', event));
  }

  /** Runs one statement on a pooled connection (text protocol). Resolves with `[rows, fields]`. */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: QueryValues): Promise<[T, FieldPacket[]]> {
    return this.#onOneConnection((connection) => connection.query<T>(sql, values));
  }

  /** Runs one prepared statement on a pooled connection (binary protocol). Resolves with `[rows, fields]`. */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: ExecuteValues): Promise<[T, FieldPacket[]]> {
    return this.#onOneConnection((connection) => connection.execute<T>(sql, values));
  }

  /** A connection on the current credentials, for several statements (a transaction). `release()` it when done. */
  async getConnection(): Promise<MysqlPoolConnection> {
    // A connection that died while idle (server restart, wait_timeout, KILL) is discarded, not lent.
    for (let attempt = 1; ; attempt++) {
      const lease = await this.#acquire();
      if (isUsable(lease.connection) || attempt > this.stats().total + 1) {
        const connection = new MysqlPoolConnection(lease, (c) => this.#emitSafely('release', c));
        this.#emitSafely('acquire', connection);
        return connection;
      }
      lease.release(true);
    }
  }

  /** The same as `connection.release()`, as mysql2's pool has it. */
  releaseConnection(connection: MysqlPoolConnection): void {
    connection.release();
  }

  /** Opens `min` connections now instead of at the first checkouts. */
  warm(): Promise<void> {
    return this.#pool.warm();
  }

  /** Connections open, idle, busy and waited for, per credential generation, with their MySQL thread ids. */
  stats(): MysqlPoolStats {
    const stats = this.#pool.stats();
    return { ...stats, generations: stats.generations.map((g) => ({ ...g, threadIds: this.#connections.threadIds(g.version) })) };
  }

  /** Refuses new checkouts, closes idle connections now and busy ones as they come back (destroyed after `drainTimeout`). Idempotent. */
  end(): Promise<void> {
    return this.#pool.end();
  }

  /** Checks a connection out for one statement; it goes back whatever happens (discarded if the statement broke it). */
  async #onOneConnection<R>(statement: (connection: MysqlPoolConnection) => Promise<R>): Promise<R> {
    const connection = await this.getConnection();
    try {
      return await statement(connection);
    } finally {
      connection.release();
    }
  }

  #acquire() {
    if (this.listenerCount('enqueue') === 0) return this.#pool.acquire();
    const waitingBefore = this.#pool.stats().waiting;
    const lease = this.#pool.acquire();
    if (this.#pool.stats().waiting > waitingBefore) this.#emitSafely('enqueue');
    return lease;
  }

  /** `driver`, keeping track of each connection's credentials version and announcing new connections. */
  #tracked(driver: PoolDriver<Connection, MysqlCredentials>): PoolDriver<Connection, MysqlCredentials> {
    return {
      ...driver,
      connect: async (credentials, signal) => {
        const connection = await driver.connect(credentials, signal);
        this.#connections.opened(credentials, connection);
        this.#emitSafely('connection', connection);
        return connection;
      },
      close: (connection) => {
        this.#connections.closed(connection);
        return driver.close(connection);
      },
      destroy: (connection) => {
        this.#connections.closed(connection);
        driver.destroy(connection);
      },
    };
  }
}

/**
 * Creates a `MysqlPool`, as `mysql.createPool()` creates a mysql2 pool.
 *
 * @example
 * const pool = createMysqlPool({ store, secret: 'database', connection: { host: '127.0.0.1', database: 'billing' } });
 * const [rows] = await pool.execute<RowDataPacket[]>('SELECT id FROM invoices WHERE customer = ?', [7]);
 * await pool.end();
 */
export function createMysqlPool(options: MysqlPoolOptions): MysqlPool {
  return new MysqlPool(options);
}
