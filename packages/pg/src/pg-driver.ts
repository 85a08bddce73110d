import { KeywardError, type PoolDriver } from '@keyward/core';
import pg from 'pg';
import { checkConnectionString, pgClientConfig } from './pg-client-config.js';
import type { PgConnectionOptions } from './pg-connection-options.js';
import type { PgCredentials } from './pg-credentials.js';
import { isPgAuthFailure } from './pg-errors.js';

// The options live in a leaf file (pg-client-config.ts needs them too); re-exported for the package index.
export type { PgConnectionOptions, PgSessionInfo } from './pg-connection-options.js';

/** What a pool built on the driver hears about its clients. */
export interface PgDriverHooks {
  /** A client logged in. */
  connected?(client: pg.Client): void;
  /** A client was closed or destroyed by the pool. Called once per client. */
  removed?(client: pg.Client): void;
  /** A client that is not being closed failed (its socket or session is gone). Never a crash. */
  error?(err: Error, client: pg.Client): void;
}

/** How long a polite close may take before the socket is ended at once. */
const CLOSE_DEADLINE_MS = 5000;

/**
 * The node-postgres driver of a `CredentialPool`: opens a `pg.Client` with the connection
 * settings and the current credentials (`{ username, password }` or `{ user, password }`),
 * proves a new generation with `SELECT 1`, closes with `client.end()` (the socket is destroyed if
 * that takes over 5 s), destroys by ending the socket at once, and reads SQLSTATE 28P01 / 28000
 * as refused credentials. Every client keeps an `error` listener, so a dropped session never
 * crashes the process.
 *
 * @example
 * const pool = new CredentialPool(storeCredentials(store, 'database'), pgDriver({ host: '127.0.0.1', database: 'app' }), { max: 20 });
 * const { connection, release } = await pool.acquire();
 * try { await connection.query('SELECT 1'); } finally { release(); }
 */
export function pgDriver(options: PgConnectionOptions = {}, hooks: PgDriverHooks = {}): PoolDriver<pg.Client, PgCredentials> {
  if (options.connectionString !== undefined) checkConnectionString(options.connectionString);
  // Clients the pool is closing: an error from them (a reset while ending) is no news.
  const retiring = new WeakSet<pg.Client>();
  const gone = new WeakSet<pg.Client>();
  const removed = (client: pg.Client) => {
    if (gone.has(client)) return;
    gone.add(client);
    hooks.removed?.(client);
  };

  return {
    async connect(credentials, signal) {
      const config = pgClientConfig(options, credentials);
      throwIfAborted(signal, options);
      const client = new pg.Client(config);
      let connected = false;
      // Errors during the login reach connect()'s promise; after it, the hooks. Never unheard.
      client.on('error', (err: Error) => {
        if (connected && !retiring.has(client)) hooks.error?.(err, client);
      });
      await untilAborted(client, client.connect(), signal, options);
      connected = true;
      hooks.connected?.(client);
      return client;
    },
    async check(client, signal) {
      await untilAborted(client, client.query('SELECT 1'), signal, options);
    },
    async close(client) {
      if (retiring.has(client)) return;
      retiring.add(client);
      const deadline = setTimeout(() => endSocket(client), CLOSE_DEADLINE_MS);
      deadline.unref();
      try {
        await client.end();
      } catch {
        endSocket(client);
      } finally {
        clearTimeout(deadline);
        removed(client);
      }
    },
    destroy(client) {
      retiring.add(client);
      endSocket(client);
      removed(client);
    },
    isAuthFailure: isPgAuthFailure,
  };
}

function endSocket(client: pg.Client): void {
  client.connection.stream.destroy();
}

/** Ends the client's socket when `signal` aborts, and reports why. */
async function untilAborted<T>(client: pg.Client, work: Promise<T>, signal: AbortSignal, where: pg.ClientConfig): Promise<T> {
  const onAbort = () => endSocket(client);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work;
  } catch (err) {
    if (signal.aborted) throw abortError(signal, where, err);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function throwIfAborted(signal: AbortSignal, where: pg.ClientConfig): void {
  if (signal.aborted) throw abortError(signal, where);
}

/** The pool's own reason (POOL_CLOSED), or POOL_TIMEOUT naming the server, never a credential. */
function abortError(signal: AbortSignal, where: pg.ClientConfig, cause?: unknown): Error {
  const reason: unknown = signal.reason;
  if (KeywardError.is(reason)) return reason;
  const server = where.connectionString === undefined ? `${where.host ?? 'localhost'}:${where.port ?? 5432}` : 'the connectionString server';
  return new KeywardError('POOL_TIMEOUT', `PostgreSQL at ${server} did not answer within connectTimeout`, { cause: cause ?? reason });
}
