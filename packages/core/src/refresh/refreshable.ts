import { EventEmitter } from 'node:events';
import { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';
import type { SecretStore } from '../store/secret-store.js';
import type { SecretRotatedEvent } from '../store/store-events.js';
import { MAX_TIMER_MS, parseDuration, withJitter, type Duration } from '../util/index.js';
import { safeEmit } from '../util/safe-emit.js';

/**
 * What `refreshable()` builds from, and how.
 *
 * @example
 * { store, secret: 'partnerToken', build: (token) => new PartnerClient(token.reveal()), dispose: (client) => client.close() }
 */
export interface RefreshableOptions<T, V = unknown> {
  /** The started store that holds the secret (a `SecretStore`). */
  readonly store: SecretStore;
  /** The declared secret the instance is built from. */
  readonly secret: string;
  /** Makes an instance from the secret (a client with a partner's token, an SDK client, a signer). May be async. */
  build(secret: Secret<V>): T | Promise<T>;
  /** Releases a replaced instance (closes its sockets), once its uses in flight have ended or `drainTimeout` passed. */
  dispose?(instance: T): void | Promise<void>;
  /** Rotations within this time are rebuilt once, from the newest value (default `'100ms'`). */
  readonly debounce?: Duration;
  /** Time uses in flight on a replaced instance get before it is disposed anyway (default `'30s'`). */
  readonly drainTimeout?: Duration;
  /**
   * Tells an error that means "this secret is no longer accepted" (the partner's 401). A `use()`
   * that fails with one triggers one shared refresh of the secret (whoever else fails meanwhile
   * waits for the same one) and, when it brings a new value, one retry on the rebuilt instance:
   * the calls made between the backend's rotation and the store's next refresh do not fail.
   */
  isAuthFailure?(error: unknown): boolean;
}

/**
 * The events a `Refreshable` emits.
 *
 * @example
 * client.on('rebuilt', ({ version, previous }) => log.info({ version, previous }, 'partner client rebuilt'));
 */
export interface RefreshableEvents {
  /** A new instance, built from the secret's `version`, serves new uses; `previous` is the version it replaces. */
  rebuilt: [{ readonly version: string; readonly previous: string }];
  /** The new value could not be built: the current instance stays, and the build is tried again (with backoff). */
  rebuildFailed: [{ readonly version: string; readonly error: unknown; readonly attempt: number }];
  /** A replaced instance was disposed: after its uses ended, or `forced` at `drainTimeout`; `error` if `dispose` threw. */
  disposed: [{ readonly version: string; readonly forced: boolean; readonly error?: unknown }];
}

/**
 * An instance built from a secret, rebuilt when the secret rotates. New uses get the new
 * instance; the replaced one is disposed once the uses in flight on it have ended (as a pool
 * drains connections), and the old value's lease is held until then.
 */
export interface Refreshable<T> extends EventEmitter<RefreshableEvents> {
  /** The version of the secret the current instance was built from. */
  readonly version: string;
  /**
   * Runs `fn` with the current instance, which is not disposed before `fn` settles. With
   * `isAuthFailure`, a refused call is retried once after a refresh (see the option).
   */
  use<R>(fn: (instance: T) => R | Promise<R>): Promise<R>;
  /** The current instance, for a synchronous use. Prefer `use()`: an instance taken here may be disposed after a rotation while you still hold it. */
  current(): T;
  /** Stops following the secret and disposes the instances (after their uses in flight, up to `drainTimeout`). Idempotent. */
  close(): Promise<void>;
}

/** One built instance and the uses in flight on it. */
interface Built<T> {
  readonly instance: T;
  readonly version: string;
  uses: number;
  retired: boolean;
  disposed: boolean;
  /** Releases the holds on this value's lease (taken from the rotation that replaced it). */
  readonly holds: (() => void)[];
  timer?: NodeJS.Timeout;
  /** Settles once it is disposed. */
  readonly whenDisposed: Promise<void>;
  readonly markDisposed: () => void;
}

function builtFrom<T>(instance: T, version: string): Built<T> {
  let markDisposed!: () => void;
  const whenDisposed = new Promise<void>((resolve) => (markDisposed = resolve));
  return { instance, version, uses: 0, retired: false, disposed: false, holds: [], whenDisposed, markDisposed };
}

const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 30_000;

class RefreshableInstance<T, V> extends EventEmitter<RefreshableEvents> implements Refreshable<T> {
  /** Events go out from inside its own work: a listener that throws must not break that work. */
  readonly #emitSafely = safeEmit(this, 'refreshable');
  readonly #options: RefreshableOptions<T, V>;
  readonly #debounceMs: number;
  readonly #drainMs: number;
  readonly #retired = new Set<Built<T>>();
  readonly #onRotated = (event: SecretRotatedEvent) => this.#rotated(event);
  #current: Built<T>;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** Rebuilds run one after another. */
  #rebuilding: Promise<void> = Promise.resolve();
  /** The refresh that refused uses share. */
  #refreshing: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: RefreshableOptions<T, V>, first: Built<T>) {
    super();
    this.#options = options;
    this.#debounceMs = parseDuration(options.debounce ?? '100ms', 'debounce');
    this.#drainMs = parseDuration(options.drainTimeout ?? '30s', 'drainTimeout');
    this.#current = first;
    options.store.on('rotated', this.#onRotated);
  }

  get version(): string {
    return this.#current.version;
  }

  current(): T {
    if (this.#closed) throw new KeywardError('STORE_CLOSED', `the refreshable ${this.#options.secret} is closed`);
    return this.#current.instance;
  }

  async use<R>(fn: (instance: T) => R | Promise<R>): Promise<R> {
    if (this.#closed) throw new KeywardError('STORE_CLOSED', `the refreshable ${this.#options.secret} is closed`);
    const built = this.#current;
    try {
      return await this.#run(built, fn);
    } catch (err) {
      if (this.#options.isAuthFailure?.(err) !== true || this.#closed) throw err;
      // Refused: the secret may have rotated at its backend before the store read it again
      // (unless another use's refresh already brought the new instance).
      if (this.#current === built) await this.#refreshOnce();
      if (this.#current === built) throw err;
      return this.#run(this.#current, fn);
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#options.store.off('rotated', this.#onRotated);
      clearTimeout(this.#timer);
      await this.#rebuilding;
      this.#retire(this.#current);
      await Promise.all([...this.#retired].map((b) => b.whenDisposed));
    })();
    return this.#closed;
  }

  async #run<R>(built: Built<T>, fn: (instance: T) => R | Promise<R>): Promise<R> {
    built.uses += 1;
    try {
      return await fn(built.instance);
    } finally {
      built.uses -= 1;
      if (built.retired && built.uses === 0) void this.#dispose(built, false);
    }
  }

  #rotated(event: SecretRotatedEvent): void {
    if (event.name !== this.#options.secret || this.#closed) return;
    // The replaced value's lease lives while an instance built from it may still be in use.
    const release = event.hold();
    const owner = [this.#current, ...this.#retired].find((b) => b.version === event.previous.version && !b.disposed);
    if (owner === undefined) release();
    else owner.holds.push(release);
    this.#schedule(this.#debounceMs);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#rebuildNow(), Math.min(delayMs, MAX_TIMER_MS));
    this.#timer.unref();
  }

  /** Builds from the store's value now, unless the current instance already is of it. */
  #rebuildNow(): Promise<void> {
    clearTimeout(this.#timer);
    this.#rebuilding = this.#rebuilding.then(() => this.#rebuild());
    return this.#rebuilding;
  }

  async #rebuild(): Promise<void> {
    if (this.#closed) return;
    const secret = this.#options.store.get(this.#options.secret) as Secret<V>;
    if (secret.version === this.#current.version) return;
    let instance: T;
    try {
      instance = await this.#options.build(secret);
    } catch (error) {
      this.#attempt += 1;
      this.#emitSafely('rebuildFailed', { version: secret.version, error, attempt: this.#attempt });
      if (!this.#closed) this.#schedule(withJitter(Math.min(RETRY_BASE_MS * 2 ** (this.#attempt - 1), RETRY_CAP_MS), 0.2));
      return;
    }
    if (this.#closed) {
      await this.#options.dispose?.(instance);
      return;
    }
    this.#attempt = 0;
    const previous = this.#current;
    this.#current = builtFrom(instance, secret.version);
    this.#emitSafely('rebuilt', { version: secret.version, previous: previous.version });
    this.#retire(previous);
  }

  /** No new uses; disposed when the last use in flight ends, or at drainTimeout. */
  #retire(built: Built<T>): void {
    if (built.retired) return;
    built.retired = true;
    this.#retired.add(built);
    if (built.uses === 0) return void this.#dispose(built, false);
    built.timer = setTimeout(() => void this.#dispose(built, true), Math.min(this.#drainMs, MAX_TIMER_MS));
    built.timer.unref();
  }

  async #dispose(built: Built<T>, forced: boolean): Promise<void> {
    if (built.disposed) return;
    built.disposed = true;
    clearTimeout(built.timer);
    let error: unknown;
    try {
      await this.#options.dispose?.(built.instance);
    } catch (err) {
      error = err;
    }
    this.#retired.delete(built);
    for (const release of built.holds.splice(0)) release();
    this.#emitSafely('disposed', { version: built.version, forced, ...(error === undefined ? {} : { error }) });
    built.markDisposed();
  }

  /** One refresh of the secret however many uses were refused, and the rebuild it causes. */
  #refreshOnce(): Promise<void> {
    this.#refreshing ??= this.#options.store
      .refresh(this.#options.secret)
      .catch(() => {})
      .then(() => this.#rebuildNow())
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }
}

/**
 * Builds an instance from a secret and rebuilds it when the secret rotates ("refresh scope"):
 * an HTTP client with a partner's token, an SDK client, a signer. Rotations are debounced; new
 * uses get the new instance at once, and the old one is disposed after the uses in flight on it
 * end (or at `drainTimeout`), the old value's lease held until then. A value that fails to build
 * leaves the current instance in place and is tried again. With `isAuthFailure`, a call the
 * other side refuses triggers one shared refresh and one retry.
 *
 * @example
 * const partner = await refreshable({
 *   store,
 *   secret: 'partnerToken',
 *   build: (token) => new Pool('https://partner.example', { headers: { authorization: `Bearer ${token.reveal()}` } }),
 *   dispose: (pool) => pool.close(),
 *   isAuthFailure: (err) => (err as { statusCode?: number }).statusCode === 401,
 * });
 * const body = await partner.use((pool) => pool.request({ path: '/orders', method: 'GET' }));
 */
export async function refreshable<T, V = unknown>(options: RefreshableOptions<T, V>): Promise<Refreshable<T>> {
  const secret = options.store.get(options.secret) as Secret<V>;
  const instance = await options.build(secret);
  return new RefreshableInstance(options, builtFrom(instance, secret.version));
}
