import { EventEmitter } from 'node:events';
import { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';
import type { SecretRotatedEvent } from '../store/store-events.js';
import { deadlineSignal, delay, unlimitedListeners, MAX_TIMER_MS, parseDuration, withJitter, type Duration } from '../util/index.js';
import { safeEmit } from '../util/safe-emit.js';
import type { CredentialSource } from './credential-source.js';
import { Generation } from './generation.js';
import type { PoolDriver } from './pool-driver.js';

/**
 * Sizes and timeouts of a `CredentialPool`; drivers' adapters (`createPgPool`, `createMysqlPool`) pass them on.
 *
 * @example
 * new CredentialPool(source, driver, { max: 20, min: 2, acquireTimeout: '10s', drainTimeout: '30s' });
 */
export interface CredentialPoolOptions {
  /** Connections at most, across generations (default 10). */
  readonly max?: number;
  /** Connections a new generation opens before it takes over, and keeps open (default 0). */
  readonly min?: number;
  /** Time a checkout may wait for a connection (default `'30s'`), then POOL_TIMEOUT. */
  readonly acquireTimeout?: Duration;
  /** An idle connection above `min` is closed after this (default `'30s'`). */
  readonly idleTimeout?: Duration;
  /** Time in-flight work on old credentials gets before its connections are closed (default `'30s'`; never past the old lease). */
  readonly drainTimeout?: Duration;
  /** Time allowed to open one connection (default `'10s'`). */
  readonly connectTimeout?: Duration;
  /** First wait before trying new credentials again after they failed to connect (default `'500ms'`, doubling to 30 s). */
  readonly retryBackoff?: Duration;
  /**
   * Connections a switch to new credentials may open beyond `max` (default 0), so that the new
   * generation opens as many as the old one has before it takes over (make before break): no
   * checkout then waits for a login while the old connections drain, and a rotation causes no
   * latency spike. The database sees up to `max + rotationSurge` sessions for the length of the
   * drain. 0 keeps `max` a hard cap: the new generation opens its connections on demand.
   */
  readonly rotationSurge?: number;
}

/** A checked-out connection; give it back with `release()` (or `release(true)` to discard it). */
export interface PooledConnection<C> {
  readonly connection: C;
  readonly generation: number;
  release(discard?: boolean): void;
}

/** One generation of a pool (the connections of one set of credentials), as `stats()` reports it. */
export interface GenerationStats {
  readonly id: number;
  readonly version: string;
  /** `warming`: new credentials opening their connections, before they take over; `active`: where new checkouts go (one generation at most). */
  readonly state: 'warming' | 'active' | 'draining' | 'closed';
  readonly idle: number;
  readonly busy: number;
  readonly opening: number;
}

/** A pool's connections now, in total and by generation: for metrics and health pages. */
export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly busy: number;
  readonly waiting: number;
  readonly generations: readonly GenerationStats[];
}

/**
 * The events a `CredentialPool` emits as credentials change and generations drain.
 *
 * @example
 * pool.on('generation', ({ id, version }) => log.info({ id, version }, 'database credentials switched'));
 */
export interface CredentialPoolEvents {
  /** New credentials took over: new checkouts go to this generation; `switchMs` is the time since the rotation was seen (logins, checks and warm-up included). */
  generation: [{ readonly id: number; readonly version: string; readonly previous?: number; readonly switchMs: number }];
  /** New credentials could not open a connection; the current generation stays, and it is tried again. */
  generationFailed: [{ readonly version: string; readonly error: unknown; readonly attempt: number }];
  /** An old generation is closed: idle connections closed at once, busy ones on release, the rest forced. */
  drained: [{ readonly id: number; readonly version: string; readonly closedIdle: number; readonly closedOnRelease: number; readonly forced: number }];
  /** Credentials were refused while connecting: one shared refresh, then one retry. */
  authRetry: [{ readonly version: string }];
}

interface Waiter<C> {
  resolve(lease: PooledConnection<C>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * A pool made of generations of connections, one per set of credentials. When the credentials
 * rotate it tests the new ones, sends new checkouts to them, lets work on the old connections
 * finish, closes the old connections before the old lease ends, and only then lets the old lease
 * go. An authentication failure while connecting triggers one shared refresh and one retry.
 *
 * @example
 * const pool = new CredentialPool(storeCredentials(store, 'database'), pgDriver, { max: 20, min: 2 });
 * const { connection, release } = await pool.acquire();
 * try { await connection.query('SELECT 1'); } finally { release(); }
 */
export class CredentialPool<C, K> extends EventEmitter<CredentialPoolEvents> {
  /** Events go out from inside its own work: a listener that throws must not break that work (see `safeEmit`). */
  readonly #emitSafely = safeEmit(this, 'credential pool');
  readonly #source: CredentialSource<K>;
  readonly #driver: PoolDriver<C, K>;
  readonly #max: number;
  readonly #min: number;
  readonly #acquireMs: number;
  readonly #idleMs: number;
  readonly #drainMs: number;
  readonly #connectMs: number;
  readonly #backoffMs: number;
  readonly #surge: number;
  readonly #generations = new Set<Generation<C, K>>();
  readonly #waiters: Waiter<C>[] = [];
  // Every call in flight listens to it (deadlineSignal): as many listeners as calls, no warning past 10.
  readonly #closing = unlimitedListeners(new AbortController());
  readonly #stopListening: () => void;
  #active: Generation<C, K>;
  #nextId = 1;
  #switching: Promise<void> = Promise.resolve();
  #refreshing: Promise<void> | undefined;
  #ended: Promise<void> | undefined;

  constructor(source: CredentialSource<K>, driver: PoolDriver<C, K>, options: CredentialPoolOptions = {}) {
    super();
    this.#source = source;
    this.#driver = driver;
    this.#max = options.max ?? 10;
    this.#min = Math.min(options.min ?? 0, this.#max);
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new KeywardError('CONFIG_INVALID', `pool max must be a whole number >= 1 (got ${options.max})`);
    this.#acquireMs = positive(parseDuration(options.acquireTimeout ?? '30s', 'acquireTimeout'), 'acquireTimeout');
    this.#idleMs = parseDuration(options.idleTimeout ?? '30s', 'idleTimeout');
    this.#drainMs = parseDuration(options.drainTimeout ?? '30s', 'drainTimeout');
    this.#connectMs = positive(parseDuration(options.connectTimeout ?? '10s', 'connectTimeout'), 'connectTimeout');
    this.#backoffMs = parseDuration(options.retryBackoff ?? '500ms', 'retryBackoff');
    this.#surge = options.rotationSurge ?? 0;
    if (!Number.isInteger(this.#surge) || this.#surge < 0) throw new KeywardError('CONFIG_INVALID', `pool rotationSurge must be a whole number >= 0 (got ${options.rotationSurge})`);
    this.#active = this.#newGeneration(source.current());
    this.#stopListening = source.onRotated((event) => this.#queueSwitch(event));
  }

  /** Opens `min` connections now (otherwise they open on demand). */
  async warm(): Promise<void> {
    await this.#warm(this.#active);
  }

  /** A connection on the current credentials: an idle one, a new one, or the next one released. */
  acquire(): Promise<PooledConnection<C>> {
    if (this.#ended) return Promise.reject(new KeywardError('POOL_CLOSED', 'the pool has ended'));
    const gen = this.#active;
    const idle = gen.take();
    if (idle !== undefined) return Promise.resolve(this.#lend(gen, idle));
    if (this.#total() < this.#max) return this.#openFor();
    return new Promise((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new KeywardError('POOL_TIMEOUT', `no connection within acquireTimeout (${this.#acquireMs} ms)`));
        }, Math.min(this.#acquireMs, MAX_TIMER_MS)),
      };
      waiter.timer.unref();
      this.#waiters.push(waiter);
    });
  }

  stats(): PoolStats {
    const generations = [...this.#generations].map((g) => ({
      id: g.id,
      version: g.credentials.version,
      // A new generation takes connections while it warms up, but checkouts go to it only once it is the active one.
      state: g.state === 'active' && g !== this.#active ? ('warming' as const) : g.state,
      idle: g.idle.length,
      busy: g.busy.size,
      opening: g.opening,
    }));
    return {
      total: this.#total(),
      idle: generations.reduce((n, g) => n + g.idle, 0),
      busy: generations.reduce((n, g) => n + g.busy, 0),
      waiting: this.#waiters.length,
      generations,
    };
  }

  /** Refuses new checkouts, closes idle connections, and busy ones as they come back (forced after `drainTimeout`). Idempotent. */
  end(): Promise<void> {
    this.#ended ??= (async () => {
      this.#stopListening();
      this.#closing.abort(new KeywardError('POOL_CLOSED', 'the pool has ended'));
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new KeywardError('POOL_CLOSED', 'the pool has ended'));
      }
      await this.#switching.catch(() => {});
      await Promise.all([...this.#generations].map((g) => this.#drain(g)));
    })();
    return this.#ended;
  }

  #total(): number {
    let n = 0;
    for (const g of this.#generations) n += g.size;
    return n;
  }

  #newGeneration(credentials: Secret<K>): Generation<C, K> {
    const gen = new Generation<C, K>(this.#nextId++, credentials);
    this.#generations.add(gen);
    return gen;
  }

  #lend(gen: Generation<C, K>, connection: C): PooledConnection<C> {
    gen.busy.add(connection);
    let released = false;
    return {
      connection,
      generation: gen.id,
      release: (discard = false) => {
        if (released) return;
        released = true;
        this.#giveBack(gen, connection, discard);
      },
    };
  }

  #giveBack(gen: Generation<C, K>, connection: C, discard: boolean): void {
    gen.busy.delete(connection);
    if (discard || gen.state !== 'active' || this.#ended) {
      if (gen.state === 'draining' && !discard) gen.counts.closedOnRelease++;
      this.#closeIn(gen, connection);
      this.#settle(gen);
      this.#serveWaiters();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.#lend(gen, connection));
      return;
    }
    this.#park(gen, connection);
  }

  /** Idle, until it is needed or has been idle for `idleTimeout` with more than `min` open. */
  #park(gen: Generation<C, K>, connection: C): void {
    gen.park(connection, this.#idleMs, (c) => {
      if (gen.size > this.#min && gen.unpark(c)) this.#closeIn(gen, c);
    });
  }

  /** Opens a connection for a checkout on the active generation, with one shared refresh and retry on an auth failure. */
  async #openFor(): Promise<PooledConnection<C>> {
    let gen = this.#active;
    gen.opening++;
    try {
      let connection: C;
      try {
        connection = await this.#connect(gen.credentials);
      } catch (err) {
        if (!this.#driver.isAuthFailure(err)) throw err;
        this.#emitSafely('authRetry', { version: gen.credentials.version });
        // Refused with credentials that have since been replaced: retry with the new ones, no refresh.
        // Otherwise one shared refresh, bounded: credentials that never start working must not hold
        // this checkout forever.
        if (this.#active === gen) {
          await Promise.race([this.#refreshOnce(), delay(this.#acquireMs, this.#closing.signal).catch(() => {})]);
        }
        gen.opening--;
        // Drained meanwhile, the old generation may have waited only for this checkout.
        this.#settle(gen);
        gen = this.#active;
        gen.opening++;
        connection = await this.#connect(gen.credentials);
      }
      if (this.#ended) {
        this.#closeIn(gen, connection);
        throw new KeywardError('POOL_CLOSED', 'the pool has ended');
      }
      // Rotated while it opened: it serves this checkout, and closes on release.
      return this.#lend(gen, connection);
    } finally {
      gen.opening--;
      this.#settle(gen);
      // A slot may have come free (a failed attempt): waiting checkouts try it.
      this.#serveWaiters();
    }
  }

  /** One login, bounded by connectTimeout and the pool's close; its timer and listener let go of when it settles. */
  async #connect(credentials: Secret<K>): Promise<C> {
    const deadline = deadlineSignal(this.#connectMs, this.#closing.signal);
    try {
      return await this.#driver.connect(credentials.reveal(), deadline.signal);
    } finally {
      deadline.done();
    }
  }

  async #check(connection: C): Promise<void> {
    if (this.#driver.check === undefined) return;
    const deadline = deadlineSignal(this.#connectMs, this.#closing.signal);
    try {
      await this.#driver.check(connection, deadline.signal);
    } finally {
      deadline.done();
    }
  }

  /** One refresh of the credentials however many connections failed, and the switch it causes. */
  #refreshOnce(): Promise<void> {
    this.#refreshing ??= this.#source
      .refresh()
      .catch(() => {})
      .then(() => this.#switching)
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Rotations are handled one after another, each on the credentials it announced. */
  #queueSwitch(event: SecretRotatedEvent): void {
    const release = event.hold();
    const seenAt = performance.now();
    this.#switching = this.#switching.then(() => this.#switch(event, release, seenAt)).catch(() => release());
  }

  async #switch(event: SecretRotatedEvent, release: () => void, seenAt: number): Promise<void> {
    const previous = [...this.#generations].find((g) => g.credentials.version === event.previous.version && g.state !== 'closed');
    // The old lease stays held while connections made with it live; its end, as renewed, bounds the drain.
    if (previous !== undefined) {
      previous.holds.push(release);
      previous.lease = event.previous.lease ?? previous.lease;
    } else {
      release();
    }
    const credentials = event.current as Secret<K>;
    if (this.#active.credentials.version === credentials.version) return;
    for (let attempt = 1; ; attempt++) {
      if (this.#ended) return;
      try {
        const first = await this.#connect(credentials);
        try {
          await this.#check(first);
        } catch (err) {
          this.#driver.destroy(first);
          throw err;
        }
        const old = this.#active;
        const gen = this.#newGeneration(credentials);
        this.#park(gen, first);
        // With a surge, as many connections as the old generation has in use, opened before it takes over.
        const target = this.#surge > 0 ? Math.max(this.#min, Math.min(old.size, this.#max)) : this.#min;
        await this.#warm(gen, target, this.#max + this.#surge, this.#surge > 0);
        this.#active = gen;
        this.#emitSafely('generation', { id: gen.id, version: credentials.version, previous: old.id, switchMs: performance.now() - seenAt });
        this.#serveWaiters();
        void this.#drain(old);
        return;
      } catch (err) {
        this.#emitSafely('generationFailed', { version: credentials.version, error: err, attempt });
        await delay(withJitter(Math.min(this.#backoffMs * 2 ** (attempt - 1), 30_000), 0.2), this.#closing.signal).catch(() => {});
      }
    }
  }

  /** Opens connections on `gen` until it has `target`, the pool staying within `limit`. */
  async #warm(gen: Generation<C, K>, target = this.#min, limit = this.#max, oneAtATime = false): Promise<void> {
    const wanted = Math.max(0, Math.min(target - gen.size, limit - this.#total()));
    const open = async (): Promise<C> => {
      gen.opening++;
      try {
        return await this.#connect(gen.credentials);
      } finally {
        gen.opening--;
      }
    };
    const keep = (connection: C): void => {
      // The generation may have started draining (or the pool ended) while it opened.
      if (gen.state === 'active' && !this.#ended) this.#park(gen, connection);
      else this.#closeIn(gen, connection);
    };
    if (oneAtATime) {
      // Logins one after another: a burst of them (SCRAM costs CPU on both sides) would slow the queries still running on the old credentials.
      for (let i = 0; i < wanted && !this.#ended; i++) await open().then(keep, () => {});
    } else {
      const opened = await Promise.allSettled(Array.from({ length: wanted }, open));
      for (const result of opened) if (result.status === 'fulfilled') keep(result.value);
    }
    this.#settle(gen);
  }

  /** Closes idle connections now, busy ones on release, the rest at the deadline; then lets the lease go. */
  #drain(gen: Generation<C, K>): Promise<void> {
    if (gen.state === 'closed') return Promise.resolve();
    gen.state = 'draining';
    for (const connection of gen.takeAllIdle()) {
      gen.counts.closedIdle++;
      this.#closeIn(gen, connection);
    }
    return new Promise<void>((resolve) => {
      gen.whenClosed.push(() => {
        clearTimeout(gen.drainTimer);
        resolve();
      });
      if (!this.#settle(gen)) {
        gen.drainTimer = setTimeout(() => {
          for (const connection of [...gen.busy]) {
            gen.busy.delete(connection);
            gen.counts.forced++;
            this.#driver.destroy(connection);
          }
          this.#settle(gen);
        }, Math.min(this.#drainDeadline(gen), MAX_TIMER_MS));
        gen.drainTimer.unref();
      }
    });
  }

  /** The drain timeout, shortened so that old connections close before the old lease ends. */
  #drainDeadline(gen: Generation<C, K>): number {
    const lease = gen.lease;
    if (lease === undefined) return this.#drainMs;
    const leaseLeft = lease.issuedAt.getTime() + lease.ttlMs - Date.now();
    return Math.max(0, Math.min(this.#drainMs, leaseLeft - 1000));
  }

  /** Closes a draining generation that has nothing left; true if it is closed. */
  #settle(gen: Generation<C, K>): boolean {
    // Closed only once the last connection has finished closing: then the old lease may go.
    if (gen.state !== 'draining' || gen.size > 0 || gen.closing > 0) return gen.state === 'closed';
    gen.state = 'closed';
    this.#generations.delete(gen);
    gen.releaseHolds();
    this.#emitSafely('drained', { id: gen.id, version: gen.credentials.version, ...gen.counts });
    for (const done of gen.whenClosed.splice(0)) done();
    return true;
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0 && !this.#ended) {
      const gen = this.#active;
      const idle = gen.take();
      if (idle !== undefined) {
        const waiter = this.#waiters.shift()!;
        clearTimeout(waiter.timer);
        waiter.resolve(this.#lend(gen, idle));
      } else if (this.#total() < this.#max) {
        const waiter = this.#waiters.shift()!;
        clearTimeout(waiter.timer);
        this.#openFor().then(waiter.resolve, waiter.reject);
      } else {
        return;
      }
    }
  }

  /** Closes a connection of `gen`; the generation counts as closed (and its lease free) only once this is done. */
  #closeIn(gen: Generation<C, K>, connection: C): void {
    gen.closing++;
    void this.#close(connection).finally(() => {
      gen.closing--;
      this.#settle(gen);
    });
  }

  async #close(connection: C): Promise<void> {
    try {
      await this.#driver.close(connection);
    } catch {
      this.#driver.destroy(connection);
    }
  }
}

/** A timeout of 0 would fail every call at once: refuse it. */
function positive(ms: number, what: string): number {
  if (ms <= 0) throw new KeywardError('CONFIG_INVALID', `${what} must be more than 0`);
  return ms;
}
