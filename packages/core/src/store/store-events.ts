import type { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';

/** Why a secret was read again. */
export type RefreshReason = 'bootstrap' | 'interval' | 'watch' | 'lease' | 'retry' | 'manual';

/**
 * The `rotated` event: a secret's value changed. Call `hold()` to keep the previous lease while you still use it.
 */
export interface SecretRotatedEvent {
  readonly name: string;
  readonly previous: Secret<unknown>;
  readonly current: Secret<unknown>;
  readonly reason: RefreshReason;
  /**
   * Keeps the previous value's lease alive until the returned function is called (a pool
   * draining its old connections). Leases nobody holds are revoked right after the event.
   */
  hold(): () => void;
}

/**
 * The `refreshFailed` event: a refresh failed; the last good value is still served until it is too stale.
 */
export interface SecretRefreshFailedEvent {
  readonly name: string;
  readonly error: KeywardError;
  /** When the current run of failures began; the value is served until `failingSince + maxStaleness`. */
  readonly failingSince: Date;
  readonly attempt: number;
}

/** The `stale` event: failures lasted past `maxStaleness`; `get()` now throws `SECRET_STALE`. */
export interface SecretStaleEvent {
  readonly name: string;
  readonly failingSince: Date;
  readonly error: KeywardError;
}

/** The `recovered` event: a refresh succeeded after a run of failures. */
export interface SecretRecoveredEvent {
  readonly name: string;
  readonly failedForMs: number;
}

/**
 * The `refreshed` event: a read after bootstrap succeeded (by schedule, watch, lease, retry or
 * `refresh()`); `changed` says whether the value changed (then `rotated` went out first).
 */
export interface SecretRefreshedEvent {
  readonly name: string;
  readonly reason: RefreshReason;
  readonly changed: boolean;
}

/**
 * The lease events (`leaseRenewed`, `leaseRenewFailed`, `leaseRevoked`, `leaseRevokeFailed`): one lease of a dynamic secret.
 */
export interface LeaseEvent {
  readonly name: string;
  readonly leaseId: string;
  /** Why a renewal or revocation failed; absent on `leaseRenewFailed` when the backend renewed for too short a time (`max_ttl` near). */
  readonly error?: KeywardError;
}

/** A read through `get()`: what the audit trail records. */
export interface SecretAccessEvent {
  readonly name: string;
  readonly version: string;
  readonly provider: string;
  readonly at: Date;
}

/**
 * The events a `SecretStore` emits, with their payloads.
 *
 * @example
 * store.on('rotated', ({ name, previous, current }) => log.info({ name, from: previous.version, to: current.version }));
 */
export interface SecretStoreEvents {
  rotated: [SecretRotatedEvent];
  refreshed: [SecretRefreshedEvent];
  refreshFailed: [SecretRefreshFailedEvent];
  stale: [SecretStaleEvent];
  recovered: [SecretRecoveredEvent];
  leaseRenewed: [LeaseEvent];
  /** A lease could not be renewed, or only for too short: new credentials are read instead. */
  leaseRenewFailed: [LeaseEvent];
  leaseRevoked: [LeaseEvent];
  leaseRevokeFailed: [LeaseEvent];
  /** Every successful `get()`, after `onAccess`: the audit trail listens here. */
  access: [SecretAccessEvent];
}
