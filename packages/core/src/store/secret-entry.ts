import type { SecretDeclaration } from '../declarations/index.js';
import type { KeywardError } from '../errors/index.js';
import type { SecretProvider, SecretRef } from '../providers/index.js';
import { Secret, type SecretLease } from '../secret/index.js';
import { MAX_TIMER_MS } from '../util/index.js';

type TimerName = 'retry' | 'stale' | 'lease';

/** The store's state for one declared secret. */
export class SecretEntry {
  secret: Secret<unknown> | undefined;
  /** The provider's value before format/key/schema, to tell a change from a re-read. */
  raw: unknown;
  absent = false;
  lastSuccessAt: number | undefined;
  failingSince: number | undefined;
  lastError: KeywardError | undefined;
  attempt = 0;
  /** `stale` went out for this run of failures. */
  staleAnnounced = false;
  inFlight: Promise<void> | undefined;
  again = false;
  /** Leases of earlier values that a consumer still holds (a pool draining). */
  readonly heldLeases: SecretLease[] = [];
  readonly required: boolean;
  #versions = 0;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();

  constructor(
    readonly name: string,
    readonly declaration: SecretDeclaration,
    readonly provider: SecretProvider,
    readonly ref: SecretRef,
    readonly refresh: { readonly intervalMs: number; readonly jitter: number } | undefined,
  ) {
    this.required = declaration.required !== false;
  }

  get loaded(): boolean {
    return this.secret !== undefined || this.absent;
  }

  nextVersion(): number {
    return ++this.#versions;
  }

  /** The TTL the current lease was issued with: renewals that come back far shorter mean max_ttl is near. */
  issuedTtlMs: number | undefined;

  accept(secret: Secret<unknown>, raw: unknown): void {
    this.secret = secret;
    this.issuedTtlMs = secret.lease?.ttlMs;
    this.raw = raw;
    this.absent = false;
    this.confirm();
  }

  markAbsent(): void {
    this.absent = true;
    this.lastSuccessAt = Date.now();
  }

  /** The provider answered and the value is current. */
  confirm(): void {
    this.lastSuccessAt = Date.now();
  }

  /** A renewal (same lease id) or the same value under a new lease (a new id: its TTL counts as issued). */
  replaceLease(lease: SecretLease): void {
    const s = this.secret!;
    if (lease.id !== s.lease?.id) this.issuedTtlMs = lease.ttlMs;
    this.secret = new Secret(s.name, s.reveal(), { version: s.version, fetchedAt: s.fetchedAt, lease });
  }

  /** Returns true for the first failure of a run. */
  fail(error: KeywardError): boolean {
    this.lastError = error;
    this.attempt++;
    if (this.failingSince !== undefined) return false;
    this.failingSince = Date.now();
    return true;
  }

  /** Ends a run of failures; returns how long it lasted, if there was one. */
  recover(): number | undefined {
    this.clearTimer('retry');
    this.clearTimer('stale');
    const since = this.failingSince;
    this.failingSince = undefined;
    this.lastError = undefined;
    this.attempt = 0;
    this.staleAnnounced = false;
    return since === undefined ? undefined : Date.now() - since;
  }

  isStale(maxStalenessMs: number): boolean {
    return this.failingSince !== undefined && Date.now() - this.failingSince > maxStalenessMs;
  }

  setTimer(name: TimerName, ms: number, task: () => void): void {
    this.clearTimer(name);
    // Past what one Node timer holds (a 60-day lease), wait in steps rather than fire after 1 ms.
    const step = Math.min(ms, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      if (ms > step) this.setTimer(name, ms - step, task);
      else task();
    }, step);
    timer.unref();
    this.#timers.set(name, timer);
  }

  clearTimer(name: TimerName): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }

  stopTimers(): void {
    for (const name of [...this.#timers.keys()]) this.clearTimer(name);
  }
}
