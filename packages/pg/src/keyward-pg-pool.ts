import { EventEmitter } from 'node:events';
import { CredentialPool, safeEmit, type CredentialPoolEvents, type PooledConnection, type PoolStats } from '@keyward/core';
import type pg from 'pg';
import { isBrokenConnection, isClientDead } from './pg-errors.js';
import type { PgCredentials } from './pg-credentials.js';
import { pgDriver } from './pg-driver.js';
import { splitPgPoolOptions, type KeywardPgPoolOptions } from './pg-pool-options.js';
import { versionedCredentials } from './versioned-credentials.js';

/**
 * The events of a `KeywardPgPool`: `pg.Pool`'s five, then the credential pool's four.
 *
 * @example pool.on('generation', ({ id, version }) => log.info(`now on credentials ${version} (generation ${id})`));
 */
export interface KeywardPgPoolEvents {
  /** A new client logged in (before it is first handed out). */
  connect: [client: pg.PoolClient];
  /** A client was handed out. */
  acquire: [client: pg.PoolClient];
  /** A client came back; `err` (or `true`) given to `release()` means it is discarded. */
  release: [err: Error | boolean | undefined, client: pg.PoolClient];
  /** A client was closed and left the pool. */
  remove: [client: pg.PoolClient];
  /** An idle client failed (its session or socket is gone); it is discarded. Without a listener: a process warning, never a crash. */
  error: [err: Error, client: pg.PoolClient];
  /** New credentials took over: new checkouts get clients logged in with them. */
  generation: CredentialPoolEvents['generation'];
  /** New credentials could not log in; the current ones stay, and the new ones are tried again. */
  generationFailed: CredentialPoolEvents['generationFailed'];
  /** The clients of old credentials are all closed; their lease may now be revoked. */
  drained: CredentialPoolEvents['drained'];
  /** PostgreSQL refused the credentials while connecting (28P01/28000): one shared refresh, then one retry. */
  authRetry: CredentialPoolEvents['authRetry'];
}

// `any`: the overloads give the row type.
type QueryCallback = (err: Error | undefined, result: any) => void;
/** The callback form of `connect()`, as `pg.Pool#connect` takes it: `done()` gives the client back. */
export type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: Error | boolean) => void) => void;

const NOOP = () => {};

/**
 * A node-postgres pool whose credentials come from a secret and rotate under it: it stands in
 * for `pg.Pool` (`query`, `connect`/`release`, its events and counts, `end`), and when the
 * secret rotates (a new user, or a new password for the same user) it logs new clients in with
 * the new credentials, lets the clients of the old ones finish and closes them, and only then
 * lets the old lease be revoked. A refused login (28P01/28000) reads the secret again once and
 * retries, so no query fails for a rotation.
 *
 * Unlike `pg.Pool`, a query that fails with an SQL error keeps its client (only a broken
 * connection is discarded), a client released inside a transaction is discarded, and an idle
 * client's failure without an `error` listener is a process warning, not a crash.
 *
 * @example
 * const pool = new KeywardPgPool({ store, secret: 'database', host: '127.0.0.1', database: 'billing', max: 20 });
 * const { rows } = await pool.query('SELECT * FROM invoices WHERE id = $1', [id]);
 * const client = await pool.connect();
 * try { await client.query('BEGIN'); ...; await client.query('COMMIT'); } finally { client.release(); }
 * await pool.end();
 */
export class KeywardPgPool extends EventEmitter<KeywardPgPoolEvents> {
  /** Events go out from inside its own work: a listener that throws must not break that work (see `safeEmit`). */
  readonly #emitSafely = safeEmit(this, 'PostgreSQL pool');
  readonly #pool: CredentialPool<pg.Client, PgCredentials>;
  readonly #checkedOut = new Set<pg.Client>();
  readonly #failed = new WeakSet<pg.Client>();
  #activeGeneration: number;
  #sweep: Promise<void> | undefined;
  #sweepAgain = false;
  #ending: Promise<void> | undefined;
  #ended = false;

  /** Checks the options (CONFIG_INVALID) and reads the current credentials; the store must have started. Connects on demand. */
  constructor(options: KeywardPgPoolOptions) {
    super();
    const { source, connection, pool } = splitPgPoolOptions(options);
    const driver = pgDriver(connection, {
      connected: (client) => this.#emitSafely('connect', client as pg.PoolClient),
      removed: (client) => this.#emitSafely('remove', client as pg.PoolClient),
      error: (err, client) => this.#clientFailed(err, client),
    });
    this.#pool = new CredentialPool(versionedCredentials(source), driver, pool);
    this.#activeGeneration = this.#pool.stats().generations[0]!.id;
    this.#pool.on('generation', (e) => {
      this.#activeGeneration = e.id;
      this.#emitSafely('generation', e);
    });
    this.#pool.on('generationFailed', (e) => this.#emitSafely('generationFailed', e));
    this.#pool.on('drained', (e) => this.#emitSafely('drained', e));
    this.#pool.on('authRetry', (e) => this.#emitSafely('authRetry', e));
  }

  /** Clients open or opening, across generations (`pg.Pool#totalCount`). */
  get totalCount(): number {
    return this.#pool.stats().total;
  }

  /** Clients open and not handed out (`pg.Pool#idleCount`). */
  get idleCount(): number {
    return this.#pool.stats().idle;
  }

  /** Checkouts waiting for a client (`pg.Pool#waitingCount`). */
  get waitingCount(): number {
    return this.#pool.stats().waiting;
  }

  /** `end()` was called. */
  get ending(): boolean {
    return this.#ending !== undefined;
  }

  /** `end()` finished: every client is closed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sizes of the pool and of each credential generation (ids and versions, never values). */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /** Opens `min` clients now instead of on first use. */
  warm(): Promise<void> {
    return this.#pool.warm();
  }

  /**
   * Checks a client out; give it back with `client.release()` (`release(err)` or `release(true)`
   * discards it). With a callback: `(err, client, done)`, as `pg.Pool#connect`.
   */
  connect(): Promise<pg.PoolClient>;
  connect(callback: ConnectCallback): void;
  connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const checkout = this.#checkout();
    if (callback === undefined) return checkout;
    checkout.then(
      (client) => callback(undefined, client, client.release),
      (err: Error) => callback(err, undefined, NOOP),
    );
  }

  /**
   * Runs one query on a client of the current credentials, as `pg.Pool#query`: promise or
   * callback. An SQL error gives the client back; a broken connection discards it.
   */
  query<R extends pg.QueryResultRow = any>(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow = any>(text: string | pg.QueryConfig, callback: (err: Error | undefined, result: pg.QueryResult<R>) => void): void;
  query<R extends pg.QueryResultRow = any>(text: string, values: unknown[], callback: (err: Error | undefined, result: pg.QueryResult<R>) => void): void;
  query(text: string | pg.QueryConfig, values?: unknown[] | QueryCallback, callback?: QueryCallback): Promise<pg.QueryResult> | void {
    if (typeof values === 'function') {
      callback = values;
      values = undefined;
    }
    const result = this.#query(text, values);
    if (callback === undefined) return result;
    const cb = callback;
    result.then(
      (res) => cb(undefined, res),
      (err: Error) => cb(err, undefined),
    );
  }

  /**
   * Refuses new checkouts, closes idle clients now and checked-out ones as they come back
   * (ended at `drainTimeout`). Idempotent: every call gets the same end.
   */
  end(): Promise<void>;
  end(callback: (err?: Error) => void): void;
  end(callback?: (err?: Error) => void): Promise<void> | void {
    this.#ending ??= this.#pool.end().then(() => {
      this.#ended = true;
    });
    if (callback === undefined) return this.#ending;
    this.#ending.then(() => callback(), callback);
  }

  async #query(text: string | pg.QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    if (typeof text === 'function' || (typeof text === 'object' && text !== null && typeof (text as Partial<pg.Submittable>).submit === 'function')) {
      throw new TypeError('pool.query() takes query text or a query config; for a cursor or stream, check a client out with pool.connect()');
    }
    const client = await this.#checkout();
    let result: pg.QueryResult;
    try {
      result = await client.query(text, values);
    } catch (err) {
      client.release(isBrokenConnection(client, err) ? (err as Error) : undefined);
      throw err;
    }
    client.release();
    return result;
  }

  async #checkout(): Promise<pg.PoolClient> {
    for (;;) {
      const lease = await this.#pool.acquire();
      // An idle client whose session ended meanwhile: discard it and take another.
      if (this.#isFailed(lease.connection)) {
        lease.release(true);
        continue;
      }
      return this.#lend(lease);
    }
  }

  #lend(lease: PooledConnection<pg.Client>): pg.PoolClient {
    const client = lease.connection as pg.PoolClient;
    this.#checkedOut.add(client);
    let released = false;
    client.release = (err?: Error | boolean) => {
      if (released) throw new Error('Release called on client which has already been released to the pool.');
      released = true;
      this.#checkedOut.delete(client);
      // A transaction left open would be inherited by the next user: close that session instead.
      const discard = Boolean(err) || this.#isFailed(client) || ['T', 'E'].includes(client.getTransactionStatus?.() ?? 'I');
      this.#emitSafely('release', err, client);
      lease.release(discard);
    };
    this.#emitSafely('acquire', client);
    return client;
  }

  #isFailed(client: pg.Client): boolean {
    return this.#failed.has(client) || isClientDead(client);
  }

  #clientFailed(err: Error, client: pg.Client): void {
    // The first error tells; the socket closing after it says the same again.
    if (this.#failed.has(client)) return;
    this.#failed.add(client);
    // A checked-out client's user hears of it through its query, and its release discards it.
    if (this.#checkedOut.has(client)) return;
    if (this.listenerCount('error') > 0) this.#emitSafely('error', err, client as pg.PoolClient);
    else process.emitWarning(`an idle PostgreSQL client failed and is discarded: ${err.message}`, { code: 'KEYWARD_PG_IDLE_CLIENT_ERROR' });
    this.#discardFailedIdle();
  }

  /**
   * Takes every idle client of the current generation out and puts the good ones back, so that a
   * failed one leaves the pool now (the credential pool has no call to drop one idle connection).
   */
  #discardFailedIdle(): void {
    if (this.#sweep !== undefined) {
      this.#sweepAgain = true;
      return;
    }
    this.#sweep = (async () => {
      do {
        this.#sweepAgain = false;
        if (this.#ending !== undefined) return;
        const idle = this.#pool.stats().generations.find((g) => g.id === this.#activeGeneration)?.idle ?? 0;
        // Taken in one go, before any other checkout can interleave: each is an idle client.
        const leases = Array.from({ length: idle }, () => this.#pool.acquire());
        for (const lease of await Promise.allSettled(leases)) {
          if (lease.status === 'fulfilled') lease.value.release(this.#isFailed(lease.value.connection));
        }
      } while (this.#sweepAgain);
    })().finally(() => {
      this.#sweep = undefined;
    });
  }
}

/**
 * Creates a `KeywardPgPool`: a `pg.Pool` stand-in whose credentials come from a secret and
 * rotate with no failed query.
 *
 * @example
 * const store = await createSecretStore({ app: 'billing', providers: { production: vaultDatabaseCredentials({ connection: vault, role: 'billing' }) }, secrets: { database: { refresh: false } } });
 * const pool = createPgPool({ store, secret: 'database', host: 'db.internal', database: 'billing', max: 20 });
 * await pool.query('SELECT 1');
 */
export function createPgPool(options: KeywardPgPoolOptions): KeywardPgPool {
  return new KeywardPgPool(options);
}
