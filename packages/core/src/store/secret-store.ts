import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import {
  DEFAULT_PATH_TEMPLATE,
  renderPathTemplate,
  type IsOptional,
  type SecretDeclaration,
  type SecretDeclarations,
  type SecretValueOf,
} from '../declarations/index.js';
import { KeywardError, SecretsUnavailableError } from '../errors/index.js';
import { UNCHANGED, type SecretProvider } from '../providers/index.js';
import { Secret } from '../secret/index.js';
import { deadlineSignal, delay, mapWithConcurrency, unlimitedListeners, MAX_TIMER_MS, parseDuration, untilAborted, withJitter } from '../util/index.js';
import { safeEmit } from '../util/safe-emit.js';
import { LeaseKeeper } from './lease-keeper.js';
import { materialize } from './materialize.js';
import { timerScheduler, type RefreshScheduler } from './refresh-scheduler.js';
import { SecretEntry } from './secret-entry.js';
import { summarizeHealth, type StoreHealth } from './store-health.js';
import type { RefreshReason, SecretStoreEvents } from './store-events.js';
import { currentEnvironment, selectProvider, type SecretStoreOptions, type StoreEnvironment } from './store-options.js';

/** What `get(name)` returns for a declaration. */
export type SecretFor<D extends SecretDeclaration> =
  IsOptional<D> extends true ? Secret<SecretValueOf<D>> | undefined : Secret<SecretValueOf<D>>;

const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 30_000;
/**
 * Reads in flight at once during bootstrap, unless `concurrency` says otherwise. From the bootstrap
 * benches (200 secrets): 16 makes 13 rounds of reads, about 15x faster than one read after another
 * at best against a 20 ms backend; 32 makes 7 rounds (28x against a 20 ms provider, over 20x
 * against Secrets Manager with two BatchGetSecretValue calls in flight) while asking a backend for
 * no more than 32 reads at once.
 */
const DEFAULT_CONCURRENCY = 32;
/** Listeners per store event before Node warns of a leak (its default, 10, is passed by a real app's consumers). */
const STORE_MAX_LISTENERS = 100;

/**
 * Holds an app's secrets in memory: loads them all at start-up (in parallel, failing once with
 * every problem listed), keeps them fresh, serves the last good value through an outage up to
 * `maxStaleness`, and reports health.
 *
 * @example
 * const store = await createSecretStore({
 *   app: 'billing',
 *   providers: { development: dotenvProvider(), production: vaultKv },
 *   secrets: { database: { schema: z.object({ username: z.string(), password: z.string() }) } },
 * });
 * store.get('database').reveal().password;
 * store.on('rotated', (e) => log.info(`${e.previous} -> ${e.current}`));
 */
export class SecretStore<D extends SecretDeclarations = SecretDeclarations> extends EventEmitter<SecretStoreEvents> {
  /** Events go out from inside its own work: a listener that throws must not break that work (see `safeEmit`). */
  readonly #emitSafely = safeEmit(this, 'secret store');
  readonly app: string;
  /** The environment it runs for: chooses the providers and fills `{env}`. */
  readonly environment: string;
  readonly #environment: StoreEnvironment;
  readonly #entries = new Map<string, SecretEntry>();
  readonly #providers: SecretProvider[];
  readonly #options: SecretStoreOptions<D>;
  readonly #readTimeoutMs: number;
  readonly #maxStalenessMs: number;
  // Every call in flight listens to it (deadlineSignal): as many listeners as calls, no warning past 10.
  readonly #closing = unlimitedListeners(new AbortController());
  readonly #leases = new LeaseKeeper({
    closed: () => this.#closed !== undefined,
    signal: (atClose) => this.#callSignal(atClose),
    emit: (event, ...args) => this.#emitSafely(event, ...args),
    reissue: (entry) => this.#refresh(entry, 'lease'),
    recovered: (entry) => this.#succeeded(entry),
    asError: (entry, err) => this.#asError(entry, err),
  });
  #started: Promise<this> | undefined;
  #closed: Promise<void> | undefined;
  #cancels: (() => void)[] = [];

  /** Checks the configuration (throws CONFIG_INVALID); reads nothing until `start()`. */
  constructor(options: SecretStoreOptions<D>) {
    super();
    // The store is the hub every consumer of a rotation listens to (pools, refreshables, TLS
    // certificates, the audit trail, Nest's @OnSecretRotated): one listener each, so a real app
    // passes Node's default of 10 on `rotated` without any leak. A leak (one per request) still
    // warns, past this many.
    this.setMaxListeners(STORE_MAX_LISTENERS);
    this.#options = options;
    this.app = options.app;
    this.#environment = currentEnvironment(options.environment, options.requireEnvironment);
    this.environment = this.#environment.name;
    this.#readTimeoutMs = parseDuration(options.readTimeout ?? '10s', 'readTimeout');
    this.#maxStalenessMs = parseDuration(options.maxStaleness ?? '1h', 'maxStaleness');
    if (!options.app) throw new KeywardError('CONFIG_INVALID', 'the store needs an `app` name');
    // NaN would start no reader at all, and bootstrap would "succeed" with nothing loaded.
    if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
      throw new KeywardError('CONFIG_INVALID', `concurrency must be a whole number of 1 or more (got ${String(options.concurrency)})`);
    }
    const variables = { ...options.variables, app: options.app, env: this.environment };
    for (const [name, declaration] of Object.entries(options.secrets)) {
      const provider = selectProvider(options.providers, this.environment, name, declaration.provider ?? 'default');
      const path = renderPathTemplate(declaration.path ?? options.pathTemplate ?? DEFAULT_PATH_TEMPLATE, { ...variables, name });
      const policy = declaration.refresh ?? options.refresh ?? { interval: '5m', jitter: 0.1 };
      const refresh = policy === false ? undefined : { intervalMs: parseDuration(policy.interval, `refresh interval of "${name}"`), jitter: policy.jitter ?? 0.1 };
      // A zero interval would read the secret in a tight loop; `refresh: false` is the way to turn it off.
      if (refresh?.intervalMs === 0) throw new KeywardError('CONFIG_INVALID', `refresh interval of "${name}" must be more than 0 (use refresh: false to turn it off)`);
      this.#entries.set(name, new SecretEntry(name, declaration, provider, { name, path, app: this.app, environment: this.environment }, refresh));
    }
    this.#providers = [...new Set([...this.#entries.values()].map((e) => e.provider))];
  }

  /** Loads every secret. Resolves with the store; rejects with one `SecretsUnavailableError` naming every problem. Idempotent. */
  start(): Promise<this> {
    this.#started ??= this.#bootstrap();
    return this.#started;
  }

  /** The names this store may serve. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * The current value of a declared secret. Throws SECRET_NOT_DECLARED for any other name,
   * SECRET_STALE once its refresh has failed for longer than `maxStaleness`.
   */
  get<K extends keyof D & string>(name: K): SecretFor<D[K]> {
    const entry = this.#entry(name);
    if (this.#closed) throw new KeywardError('STORE_CLOSED', 'the secret store is closed', { secret: name });
    const secret = entry.secret;
    if (secret === undefined) {
      if (entry.absent) return undefined as SecretFor<D[K]>;
      throw new KeywardError('SECRET_NOT_LOADED', 'has not been loaded; await store.start() first', { secret: name });
    }
    if (entry.isStale(this.#maxStalenessMs)) {
      // Before the refusal, whatever the timer's lag: whoever listens to `stale` hears it first.
      this.#announceStale(entry);
      throw new KeywardError('SECRET_STALE', `its refresh has failed for longer than maxStaleness`, {
        secret: name,
        cause: entry.lastError,
      });
    }
    if (this.#options.onAccess !== undefined || this.listenerCount('access') > 0) {
      const event = { name, version: secret.version, provider: entry.provider.kind, at: new Date() };
      this.#options.onAccess?.(event);
      this.emit('access', event);
    }
    return secret as SecretFor<D[K]>;
  }

  /** Whether a declared secret currently has a value (an optional one may not). */
  has(name: keyof D & string): boolean {
    return this.#entry(name).secret !== undefined;
  }

  /** Reads one secret (or all) from its provider now. Rejects if the read fails; the last good value stays. */
  async refresh(name?: keyof D & string): Promise<void> {
    if (this.#closed) throw new KeywardError('STORE_CLOSED', 'the secret store is closed');
    if (this.#started === undefined) throw new KeywardError('SECRET_NOT_LOADED', 'the store has not started; await store.start() first');
    const entries = name === undefined ? [...this.#entries.values()] : [this.#entry(name)];
    await Promise.all(entries.map((e) => this.#refresh(e, 'manual', true)));
  }

  /**
   * `ok`, `degraded` (serving stale values) or `down` (a required secret missing or past
   * `maxStaleness`), with each secret's age and the environment (`source: 'fallback'` when none was set).
   */
  health(): StoreHealth {
    return summarizeHealth(
      [...this.#entries.values()],
      {
        maxStalenessMs: this.#maxStalenessMs,
        started: this.#started !== undefined && [...this.#entries.values()].every((e) => e.loaded),
        closed: this.#closed !== undefined,
        environment: this.#environment,
      },
      // A report that says `down` for staleness comes after the `stale` event, never before.
      (entry) => this.#announceStale(entry),
    );
  }

  /** Stops refreshes and watches, aborts reads in flight, closes providers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing.abort(new KeywardError('STORE_CLOSED', 'the secret store is closed'));
    for (const cancel of this.#cancels.splice(0)) cancel();
    for (const entry of this.#entries.values()) entry.stopTimers();
    if (this.#options.revokeLeasesOnClose) {
      const revocations = [...this.#entries.values()].flatMap((e) =>
        [...(e.secret?.lease ? [e.secret.lease] : []), ...e.heldLeases.splice(0)].map((lease) => this.#leases.revoke(e, lease, true)),
      );
      await Promise.all(revocations);
    }
    await Promise.allSettled(this.#providers.map((p) => p.close?.()));
  }

  #entry(name: string): SecretEntry {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new KeywardError('SECRET_NOT_DECLARED', `is not declared in this store, so it is not served (least privilege)`, { secret: name });
    }
    return entry;
  }

  async #bootstrap(): Promise<this> {
    if (this.#closed) throw new KeywardError('STORE_CLOSED', 'the secret store was closed before it started');
    try {
      for (const provider of this.#providers) await provider.start?.({ app: this.app, environment: this.environment });
    } catch (err) {
      await this.close();
      throw KeywardError.from(err, 'PROVIDER_REFUSED');
    }
    // Watch before the first read, so a change during bootstrap is not missed.
    for (const entry of this.#entries.values()) {
      const stop = entry.provider.watch?.(entry.ref, () => void this.#refresh(entry, 'watch').catch(() => {}));
      if (stop) this.#cancels.push(stop);
    }
    const retries = this.#options.bootstrapRetries ?? 2;
    const failures = await mapWithConcurrency([...this.#entries.values()], this.#options.concurrency ?? DEFAULT_CONCURRENCY, async (entry) => {
      for (let attempt = 0; ; attempt++) {
        // A watch event during this read waits for it and asks for one more (see #refresh).
        const attemptLoad = this.#load(entry, 'bootstrap');
        entry.inFlight = attemptLoad.then(
          () => {},
          () => {},
        );
        try {
          await attemptLoad;
          return undefined;
        } catch (err) {
          const error = this.#asError(entry, err);
          if (error.code === 'SECRET_NOT_FOUND' && !entry.required) {
            entry.markAbsent();
            return undefined;
          }
          if (!error.retryable || attempt >= retries || this.#closing.signal.aborted) return error;
          await delay(withJitter(200 * 2 ** attempt, 0.2), this.#closing.signal).catch(() => {});
        } finally {
          entry.inFlight = undefined;
        }
      }
    });
    // Closed while loading: start no watch or timer that nothing would ever stop.
    if (this.#closed) throw new KeywardError('STORE_CLOSED', 'the secret store was closed while it started');
    const problems = failures.filter((f): f is KeywardError => f !== undefined);
    if (problems.length > 0) {
      await this.close();
      throw new SecretsUnavailableError(problems);
    }
    try {
      this.#scheduleRefreshes(this.#options.scheduler ?? timerScheduler);
    } catch (err) {
      // A scheduler that refuses (a name taken in SchedulerRegistry) must not leave the rest running.
      await this.close();
      throw KeywardError.from(err, 'CONFIG_INVALID');
    }
    // Changes seen while bootstrap was reading: read them now.
    for (const entry of this.#entries.values()) {
      if (entry.again) {
        entry.again = false;
        void this.#refresh(entry, 'watch').catch(() => {});
      }
    }
    return this;
  }

  #scheduleRefreshes(scheduler: RefreshScheduler): void {
    for (const entry of this.#entries.values()) {
      if (entry.refresh === undefined) continue;
      // A refresh at least every ~24.8 days: a longer interval cannot be one Node timer (it would run every 1 ms).
      const intervalMs = Math.min(entry.refresh.intervalMs, MAX_TIMER_MS);
      const { jitter } = entry.refresh;
      this.#cancels.push(
        scheduler.every(`keyward.refresh.${entry.name}`, intervalMs, () => {
          // Spread instances that started together over a part of the interval.
          void delay(Math.random() * jitter * intervalMs, this.#closing.signal)
            .then(() => this.#refresh(entry, 'interval'))
            .catch(() => {});
        }),
      );
    }
  }

  /** The signal of one provider call: its timeout, and the store's close (except for calls made by close itself). */
  #callSignal(atClose = false): AbortSignal {
    const timeout = AbortSignal.timeout(this.#readTimeoutMs);
    return atClose ? timeout : AbortSignal.any([this.#closing.signal, timeout]);
  }

  #asError(entry: SecretEntry, err: unknown): KeywardError {
    const where = { secret: entry.name, location: entry.provider.locate(entry.ref) };
    const error = KeywardError.from(err, 'PROVIDER_UNAVAILABLE', where);
    // The store's own deadline: say which setting to look at.
    if (error.code === 'PROVIDER_TIMEOUT' && error.detail === 'timed out') {
      return new KeywardError('PROVIDER_TIMEOUT', `no answer within readTimeout (${this.#readTimeoutMs} ms)`, { ...where, cause: error.cause });
    }
    return error;
  }

  /** One read at a time per secret; a request during a read runs once more after it. */
  #refresh(entry: SecretEntry, reason: RefreshReason, rethrow = false): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (entry.inFlight) {
      entry.again = true;
      // The read in flight runs once more for us; a caller who asked for errors still gets one.
      if (!rethrow) return entry.inFlight;
      return entry.inFlight.then(() => {
        if (entry.lastError) throw entry.lastError;
      });
    }
    entry.inFlight = (async () => {
      let failure: KeywardError | undefined;
      do {
        entry.again = false;
        try {
          const changed = await this.#load(entry, reason);
          failure = undefined;
          this.#succeeded(entry);
          this.#emitSafely('refreshed', { name: entry.name, reason, changed });
        } catch (err) {
          if (this.#closed) return;
          failure = this.#asError(entry, err);
          if (failure.code === 'SECRET_NOT_FOUND' && entry.absent) {
            // An optional secret that is still not there: nothing failed, nothing goes stale.
            failure = undefined;
            entry.markAbsent();
            this.#succeeded(entry);
            this.#emitSafely('refreshed', { name: entry.name, reason, changed: false });
          } else {
            this.#failed(entry, failure);
          }
        }
      } while (entry.again && !this.#closed);
      if (failure && rethrow) throw failure;
    })().finally(() => {
      entry.inFlight = undefined;
    });
    return entry.inFlight;
  }

  /** Reads the secret once; `true` when its value changed (a `rotated` event went out). */
  async #load(entry: SecretEntry, reason: RefreshReason): Promise<boolean> {
    // Let go of at once when the read settles (a timer and a listener per read, at every refresh).
    const deadline = deadlineSignal(this.#readTimeoutMs, this.#closing.signal);
    // A lease refresh wants new credentials, not a cheap "unchanged".
    const current = reason === 'lease' ? undefined : entry.secret && { version: entry.secret.version, lease: entry.secret.lease };
    let result: Awaited<ReturnType<SecretProvider['read']>>;
    try {
      result = await untilAborted(entry.provider.read(entry.ref, { signal: deadline.signal, current }), deadline.signal);
    } finally {
      deadline.done();
    }
    if (this.#closed) return false;
    if (result === UNCHANGED) {
      entry.confirm();
      return false;
    }
    // The store's own copy: freezing it leaves the provider's object alone, and a provider that
    // changes its object in place is still seen to have changed.
    const raw = snapshot(result.value);
    const value = await materialize(entry.declaration, raw);
    const previous = entry.secret;
    const changed = previous === undefined || (result.version !== undefined ? result.version !== previous.version : !isDeepStrictEqual(entry.raw, raw));
    if (!changed) {
      // Same value under a new lease: renew that one from now on.
      if (result.lease !== undefined && result.lease.id !== previous.lease?.id) {
        entry.replaceLease(result.lease);
        this.#leases.schedule(entry);
      }
      entry.confirm();
      return false;
    }
    const secret = new Secret(entry.name, value, {
      version: result.version ?? `v${entry.nextVersion()}`,
      fetchedAt: new Date(),
      lease: result.lease,
    });
    entry.accept(secret, raw);
    this.#leases.schedule(entry);
    if (previous !== undefined) this.#leases.announceRotation(entry, previous, secret, reason);
    return previous !== undefined;
  }

  #succeeded(entry: SecretEntry): void {
    const failedForMs = entry.recover();
    if (failedForMs !== undefined) this.#emitSafely('recovered', { name: entry.name, failedForMs });
  }

  #failed(entry: SecretEntry, error: KeywardError): void {
    const first = entry.fail(error);
    this.#emitSafely('refreshFailed', { name: entry.name, error, failingSince: new Date(entry.failingSince!), attempt: entry.attempt });
    if (first) this.#armStale(entry);
    const backoff = Math.min(RETRY_BASE_MS * 2 ** (entry.attempt - 1), entry.refresh?.intervalMs ?? RETRY_CAP_MS, RETRY_CAP_MS);
    entry.setTimer('retry', withJitter(backoff, 0.2), () => void this.#refresh(entry, 'retry').catch(() => {}));
  }

  /**
   * Emits `stale` once `get()` refuses the value: at the timer, or at the first `get()` or
   * `health()` that finds it stale when the timer runs late (a busy event loop). A timer may also
   * fire a little early by the wall clock, so it checks.
   */
  #armStale(entry: SecretEntry): void {
    const due = entry.failingSince! + this.#maxStalenessMs - Date.now();
    entry.setTimer('stale', Math.max(0, due) + 1, () => {
      if (entry.failingSince === undefined) return;
      if (!entry.isStale(this.#maxStalenessMs)) return this.#armStale(entry);
      this.#announceStale(entry);
    });
  }

  /** `stale`, once per run of failures. */
  #announceStale(entry: SecretEntry): void {
    if (entry.staleAnnounced || entry.failingSince === undefined || entry.lastError === undefined) return;
    entry.staleAnnounced = true;
    entry.clearTimer('stale');
    this.#emitSafely('stale', { name: entry.name, failingSince: new Date(entry.failingSince), error: entry.lastError });
  }
}

/** A copy of a provider's plain value; anything that cannot be cloned is kept as it is. */
function snapshot(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

/**
 * Creates a store and loads its secrets.
 *
 * @example
 * const store = await createSecretStore({ app: 'billing', providers: { development: dotenvProvider() }, secrets: { apiToken: {} } });
 */
export async function createSecretStore<const D extends SecretDeclarations>(options: SecretStoreOptions<D>): Promise<SecretStore<D>> {
  return new SecretStore(options).start();
}
