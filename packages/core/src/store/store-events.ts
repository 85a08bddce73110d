import type { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';

/** Why a secret was read again. */
export type RefreshReason = 'bootstrap' | 'interval' | 'watch' | 'lease' | 'retry' | 'manual';

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

export interface SecretRefreshFailedEvent {
  readonly name: string;
  readonly error: KeywardError;
  /** When the current run of failures began; the value is served until `failingSince + maxStaleness`. */
  readonly failingSince: Date;
  readonly attempt: number;
}

export interface SecretStaleEvent {
  readonly name: string;
  readonly failingSince: Date;
  readonly error: KeywardError;
}

export interface SecretRecoveredEvent {
  readonly name: string;
  readonly failedForMs: number;
}

export interface LeaseEvent {
  readonly name: string;
  readonly leaseId: string;
  readonly error?: KeywardError;
}

/** A read through `get()`: what the audit trail records. */
export interface SecretAccessEvent {
  readonly name: string;
  readonly version: string;
  readonly provider: string;
  readonly at: Date;
}

export interface SecretStoreEvents {
  rotated: [SecretRotatedEvent];
  refreshFailed: [SecretRefreshFailedEvent];
  stale: [SecretStaleEvent];
  recovered: [SecretRecoveredEvent];
  leaseRenewed: [LeaseEvent];
  leaseRevoked: [LeaseEvent];
  leaseRevokeFailed: [LeaseEvent];
  /** Every successful `get()`, after `onAccess`: the audit trail listens here. */
  access: [SecretAccessEvent];
}
