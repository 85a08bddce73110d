import type { Secret, SecretLease } from '../secret/index.js';
import { MAX_TIMER_MS } from '../util/index.js';

export type GenerationState = 'active' | 'draining' | 'closed';

/** The connections opened with one set of credentials. */
export class Generation<C, K> {
  state: GenerationState = 'active';
  readonly idle: C[] = [];
  readonly busy = new Set<C>();
  /** Connections being opened for this generation. */
  opening = 0;
  /** Connections being closed: the lease stays held until they are. */
  closing = 0;
  /** Releases the hold on these credentials' lease, once the generation is closed. */
  readonly holds: (() => void)[] = [];
  /** Called once the generation is closed. */
  readonly whenClosed: (() => void)[] = [];
  readonly counts = { closedIdle: 0, closedOnRelease: 0, forced: 0 };
  drainTimer: NodeJS.Timeout | undefined;
  /** The credentials' lease as it stands (renewals replace the store's copy, not `credentials`). */
  lease: SecretLease | undefined;
  readonly #idleTimers = new Map<C, NodeJS.Timeout>();

  constructor(
    readonly id: number,
    readonly credentials: Secret<K>,
  ) {
    this.lease = credentials.lease;
  }

  /** Connections open or opening (what counts toward the pool's `max`). */
  get size(): number {
    return this.idle.length + this.busy.size + this.opening;
  }

  /** Puts a connection back; `onIdleTimeout` runs if it stays unused for `idleMs`. */
  park(connection: C, idleMs: number, onIdleTimeout: (c: C) => void): void {
    this.idle.push(connection);
    if (idleMs > 0 && Number.isFinite(idleMs)) {
      const timer = setTimeout(() => onIdleTimeout(connection), Math.min(idleMs, MAX_TIMER_MS));
      timer.unref();
      this.#idleTimers.set(connection, timer);
    }
  }

  /** Takes the most recently used idle connection (LIFO keeps the others free to time out). */
  take(): C | undefined {
    const connection = this.idle.pop();
    if (connection !== undefined) this.#clearIdleTimer(connection);
    return connection;
  }

  /** Removes one idle connection (timed out); false if it was not idle. */
  unpark(connection: C): boolean {
    const i = this.idle.indexOf(connection);
    if (i < 0) return false;
    this.idle.splice(i, 1);
    this.#clearIdleTimer(connection);
    return true;
  }

  /** Every idle connection, removed. */
  takeAllIdle(): C[] {
    for (const c of this.idle) this.#clearIdleTimer(c);
    return this.idle.splice(0);
  }

  releaseHolds(): void {
    for (const release of this.holds.splice(0)) release();
  }

  #clearIdleTimer(connection: C): void {
    clearTimeout(this.#idleTimers.get(connection));
    this.#idleTimers.delete(connection);
  }
}
