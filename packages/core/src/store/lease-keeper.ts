import type { KeywardError } from '../errors/index.js';
import type { Secret, SecretLease } from '../secret/index.js';
import { untilAborted, withJitter } from '../util/index.js';
import type { SecretEntry } from './secret-entry.js';
import type { RefreshReason, SecretStoreEvents } from './store-events.js';

/** What the lease keeper needs from its store. */
export interface LeaseHost {
  closed(): boolean;
  /** A signal for one call: the read timeout, and the store's close unless `atClose`. */
  signal(atClose?: boolean): AbortSignal;
  emit<E extends keyof SecretStoreEvents>(event: E, ...args: SecretStoreEvents[E]): void;
  /** Reads new credentials for the secret (they emit `rotated` through `announceRotation`). */
  reissue(entry: SecretEntry): Promise<void>;
  /** The backend answered for this secret again (a renewal worked): ends its run of failures. */
  recovered(entry: SecretEntry): void;
  asError(entry: SecretEntry, err: unknown): KeywardError;
}

/**
 * Keeps leased secrets alive: renews at about 2/3 of the TTL, gets new credentials when a
 * lease cannot be renewed (or only for too short), and hands a rotated secret's old lease to
 * its consumers before revoking it.
 */
export class LeaseKeeper {
  readonly #host: LeaseHost;

  constructor(host: LeaseHost) {
    this.#host = host;
  }

  /** Renews a lease at about 2/3 of its life; when it cannot be renewed, reads new credentials before it ends. */
  schedule(entry: SecretEntry): void {
    const lease = entry.secret?.lease;
    if (lease === undefined) return entry.clearTimer('lease');
    const renewAt = withJitter((lease.ttlMs * 2) / 3, 0.1);
    const attempt = async () => {
      const current = entry.secret;
      if (!current?.lease || this.#host.closed()) return;
      if (current.lease.renewable && entry.provider.renew) {
        try {
          const signal = this.#host.signal();
          const renewed = await untilAborted(entry.provider.renew(current.lease, { signal, current: { version: current.version, lease: current.lease } }), signal);
          if (this.#host.closed()) return;
          // A renewal capped short (max_ttl near) is as good as a refusal: get new credentials.
          // Measured against the TTL at issue, not the last renewal's: against the last one, renewals
          // capped by max_ttl would shrink step by step and new credentials come only at the last moment.
          if (renewed.ttlMs >= (entry.issuedTtlMs ?? current.lease.ttlMs) / 3) {
            entry.replaceLease(renewed);
            this.#host.recovered(entry);
            this.#host.emit('leaseRenewed', { name: entry.name, leaseId: renewed.id });
            this.schedule(entry);
            return;
          }
          this.#host.emit('leaseRenewFailed', { name: entry.name, leaseId: current.lease.id });
        } catch (err) {
          // Fall through to new credentials.
          if (!this.#host.closed()) this.#host.emit('leaseRenewFailed', { name: entry.name, leaseId: current.lease.id, error: this.#host.asError(entry, err) });
        }
      }
      await this.#host.reissue(entry).catch(() => {});
      // Neither renewed nor replaced (the backend is away): try again, well before the lease ends.
      // The store's own retry only confirms that the value is still leased; it renews nothing.
      if (!this.#host.closed() && entry.secret === current) {
        const left = current.lease.issuedAt.getTime() + current.lease.ttlMs - Date.now();
        entry.setTimer('lease', withJitter(Math.min(5000, Math.max(left / 4, current.lease.ttlMs / 10)), 0.2), () => void attempt());
      }
    };
    entry.setTimer('lease', renewAt, () => void attempt());
  }

  announceRotation(entry: SecretEntry, previous: Secret<unknown>, current: Secret<unknown>, reason: RefreshReason): void {
    const oldLease = previous.lease && previous.lease.id !== current.lease?.id ? previous.lease : undefined;
    let holds = 0;
    let announced = false;
    const release = () => {
      if (--holds > 0 || !announced || oldLease === undefined) return;
      const held = entry.heldLeases.indexOf(oldLease);
      if (held >= 0) entry.heldLeases.splice(held, 1);
      // After close() the lease is left to expire, or was revoked there (revokeLeasesOnClose).
      if (!this.#host.closed()) void this.revoke(entry, oldLease);
    };
    this.#host.emit('rotated', {
      name: entry.name,
      previous,
      current,
      reason,
      hold: () => {
        holds++;
        if (oldLease && !entry.heldLeases.includes(oldLease)) entry.heldLeases.push(oldLease);
        let done = false;
        return () => {
          if (!done) {
            done = true;
            release();
          }
        };
      },
    });
    announced = true;
    if (holds === 0) {
      holds = 1;
      release();
    }
  }

  async revoke(entry: SecretEntry, lease: SecretLease, atClose = false): Promise<void> {
    if (!entry.provider.revoke) return;
    const leaseId = lease.id;
    try {
      const signal = this.#host.signal(atClose);
      await untilAborted(entry.provider.revoke(lease, { signal }), signal);
      this.#host.emit('leaseRevoked', { name: entry.name, leaseId });
    } catch (err) {
      this.#host.emit('leaseRevokeFailed', { name: entry.name, leaseId, error: this.#host.asError(entry, err) });
    }
  }
}
