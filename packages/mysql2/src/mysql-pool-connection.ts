import { KeywardError, type PooledConnection } from '@keyward/core';
import type { Connection, ExecuteValues, FieldPacket, QueryOptions, QueryResult, QueryValues } from 'mysql2/promise';
import { isUsable } from './connection-state.js';

/**
 * A connection checked out of a `MysqlPool`, with mysql2's promise API. Give it back with
 * `release()`; `destroy()` discards it. After either, it refuses further use, because the pool may
 * already have lent it to someone else or closed it (its credentials rotated).
 *
 * A statement that fails for an SQL reason leaves the connection fit for use; one that breaks it
 * (mysql2 marks the error `fatal`) makes `release()` discard it.
 *
 * @example
 * const conn = await pool.getConnection();
 * try {
 *   await conn.beginTransaction();
 *   await conn.execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [10, 1]);
 *   await conn.commit();
 * } finally {
 *   conn.release();
 * }
 */
export class MysqlPoolConnection {
  readonly #lease: PooledConnection<Connection>;
  readonly #onRelease: (connection: MysqlPoolConnection) => void;
  #done = false;
  #broken = false;

  constructor(lease: PooledConnection<Connection>, onRelease: (connection: MysqlPoolConnection) => void) {
    this.#lease = lease;
    this.#onRelease = onRelease;
  }

  /** The mysql2 promise connection underneath. Do not keep it past `release()`. */
  get connection(): Connection {
    return this.#lease.connection;
  }

  /** The credential generation this connection logged in with (see `pool.stats()`). */
  get generation(): number {
    return this.#lease.generation;
  }

  /** The server's id for this session: `CONNECTION_ID()`, the `ID` in `information_schema.PROCESSLIST`. */
  get threadId(): number {
    return this.#lease.connection.threadId;
  }

  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: QueryValues): Promise<[T, FieldPacket[]]> {
    return this.#run((c) => (typeof sql === 'string' ? c.query<T>(sql, values) : c.query<T>(sql, values)));
  }

  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: ExecuteValues): Promise<[T, FieldPacket[]]> {
    return this.#run((c) => (typeof sql === 'string' ? c.execute<T>(sql, values) : c.execute<T>(sql, values)));
  }

  beginTransaction(): Promise<void> {
    return this.#run((c) => c.beginTransaction());
  }

  commit(): Promise<void> {
    return this.#run((c) => c.commit());
  }

  rollback(): Promise<void> {
    return this.#run((c) => c.rollback());
  }

  ping(): Promise<void> {
    return this.#run((c) => c.ping());
  }

  /** Gives the connection back to the pool (closed instead when it broke or its credentials rotated). Idempotent. */
  release(): void {
    this.#giveBack(this.#broken || !isUsable(this.#lease.connection));
  }

  /** Closes the connection instead of giving it back (e.g. after changing session state you do not want to leak). Idempotent. */
  destroy(): void {
    this.#giveBack(true);
  }

  #giveBack(discard: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#lease.release(discard);
    this.#onRelease(this);
  }

  async #run<R>(operation: (connection: Connection) => Promise<R>): Promise<R> {
    if (this.#done) throw new KeywardError('POOL_CLOSED', 'this connection went back to the pool; check out another with getConnection()');
    try {
      return await operation(this.#lease.connection);
    } catch (err) {
      if ((err as { fatal?: unknown }).fatal === true) this.#broken = true;
      throw err;
    }
  }
}
