import { KeywardError, untilAborted, withJitter } from '@keyward/core';
import { vaultStatusOf } from '../vault-errors.js';
import type { VaultAuth, VaultAuthContext, VaultToken } from './vault-auth.js';

// The longest delay one Node timer holds; a longer one fires after 1 ms. A long-lived token is
// then looked after early, which is harmless.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The events of a Vault connection: what happened to its token, never the token itself.
 *
 * @example
 * vault.on('authFailed', ({ error, during }) => log.warn(`vault ${during} failed: ${error.code}`));
 */
export interface VaultConnectionEvents {
  /** A login (or, for `tokenAuth`, the token's lookup) gave a token. */
  login: [{ readonly method: string; readonly ttlMs: number; readonly renewable: boolean }];
  /** The token was renewed in the background. */
  tokenRenewed: [{ readonly ttlMs: number }];
  /** A background renewal or login failed; it is tried again, and a refused token is replaced on use. */
  authFailed: [{ readonly error: KeywardError; readonly during: 'renewal' | 'login' }];
}

interface HeldToken extends VaultToken {
  /** When the TTL was last stated by Vault. */
  readonly since: number;
}

const MIN_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * The token of one connection: one login at a time however many calls need it, renewal at about
 * 2/3 of the TTL, a new login before the max TTL ends or when renewal fails, and a replacement
 * when Vault refuses the token. The token is kept in a private field, out of `util.inspect`.
 */
export class AuthSession {
  readonly #auth: VaultAuth;
  readonly #vault: VaultAuthContext;
  readonly #renewToken: boolean;
  readonly #signal: AbortSignal;
  readonly #emit: <E extends keyof VaultConnectionEvents>(event: E, ...args: VaultConnectionEvents[E]) => void;
  #current: HeldToken | undefined;
  #login: Promise<string> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    auth: VaultAuth,
    vault: VaultAuthContext,
    options: {
      readonly renewToken: boolean;
      /** Aborted when the connection closes: ends logins and renewals in flight. */
      readonly signal: AbortSignal;
      readonly emit: <E extends keyof VaultConnectionEvents>(event: E, ...args: VaultConnectionEvents[E]) => void;
    },
  ) {
    this.#auth = auth;
    this.#vault = vault;
    this.#renewToken = options.renewToken;
    this.#signal = options.signal;
    this.#emit = options.emit;
  }

  /** The token to send: the current one, or the one a login in flight (shared by every caller) gives. */
  /** The token in hand, if any (no login needed to use it). */
  current(): string | undefined {
    return this.#current?.token;
  }

  token(signal: AbortSignal): Promise<string> {
    if (this.#current) return Promise.resolve(this.#current.token);
    return untilAborted(this.#loginOnce(), signal);
  }

  /**
   * Vault refused `refused`: the token to retry with, from ONE login shared by every call refused
   * meanwhile (or the newer token some login already gave), or `undefined` when this auth
   * method cannot give another token.
   */
  replace(refused: string, signal: AbortSignal): Promise<string | undefined> {
    if (!this.#auth.canLoginAgain) return Promise.resolve(undefined);
    if (this.#login) return untilAborted(this.#login, signal);
    if (this.#current && this.#current.token !== refused) return Promise.resolve(this.#current.token);
    this.#drop();
    return untilAborted(this.#loginOnce(), signal);
  }

  /** Stops renewal; revokes the token first when asked and it is this process's own. */
  async close(revoke: boolean, signal: AbortSignal): Promise<void> {
    this.#closed = true;
    const held = this.#current;
    this.#drop();
    if (revoke && held && this.#auth.ownsToken) {
      await this.#vault
        .request({ method: 'POST', path: 'auth/token/revoke-self', token: held.token, signal, doing: 'token revocation' })
        .catch(() => {});
    }
  }

  #loginOnce(): Promise<string> {
    this.#login ??= (async () => {
      try {
        const token = await this.#auth.login(this.#vault, this.#signal, { renew: this.#renewToken });
        if (this.#closed) throw new KeywardError('PROVIDER_UNAVAILABLE', 'the Vault connection is closed', { retryable: false });
        this.#hold({ ...token, since: Date.now() });
        this.#emit('login', { method: this.#auth.method, ttlMs: token.ttlMs, renewable: token.renewable });
        return token.token;
      } finally {
        this.#login = undefined;
      }
    })();
    return this.#login;
  }

  #hold(held: HeldToken): void {
    this.#current = held;
    this.#clearTimer();
    if (!this.#renewToken || held.ttlMs <= 0) return;
    // Renewable: renew at about 2/3. Not renewable (a batch token): log in again then, if possible.
    if (!held.renewable && !this.#auth.canLoginAgain) return;
    this.#setTimer(withJitter((held.ttlMs * 2) / 3, 0.1), () => void this.#keepAlive(held));
  }

  async #keepAlive(held: HeldToken): Promise<void> {
    if (this.#current !== held || this.#closed) return;
    let current = held;
    if (held.renewable) {
      try {
        const renewed = await this.#renew(held);
        if (this.#current !== held || this.#closed) return;
        current = { token: held.token, ttlMs: renewed.ttlMs, renewable: renewed.renewable, since: Date.now() };
        // Renewed for less than a third of its TTL: its max TTL is near, so log in again while it still works.
        if (renewed.ttlMs >= held.ttlMs / 3 || !this.#auth.canLoginAgain) {
          this.#hold(current);
          this.#emit('tokenRenewed', { ttlMs: renewed.ttlMs });
          return;
        }
        this.#current = current;
        this.#emit('tokenRenewed', { ttlMs: renewed.ttlMs });
      } catch (err) {
        if (this.#closed || this.#current !== held) return;
        // A 400 ("past the max TTL, cannot renew") is the normal end of a token a login replaces.
        if (vaultStatusOf(err) !== 400 || !this.#auth.canLoginAgain) this.#emit('authFailed', { error: KeywardError.from(err), during: 'renewal' });
        if (!this.#auth.canLoginAgain) return this.#retryLater(held);
      }
    }
    try {
      await this.#loginOnce();
    } catch (err) {
      if (this.#closed || this.#current !== current) return;
      this.#emit('authFailed', { error: KeywardError.from(err), during: 'login' });
      this.#retryLater(current);
    }
  }

  async #renew(held: HeldToken): Promise<VaultToken> {
    const body = await this.#vault.request<{ auth?: { lease_duration?: unknown; renewable?: unknown } }>({
      method: 'POST',
      path: 'auth/token/renew-self',
      body: {},
      token: held.token,
      signal: this.#signal,
      doing: 'token renewal',
    });
    const seconds = typeof body?.auth?.lease_duration === 'number' ? body.auth.lease_duration : 0;
    return { token: held.token, ttlMs: Math.max(0, seconds) * 1000, renewable: body?.auth?.renewable === true };
  }

  /** Tries again while the token still has time left; after that, the next refused call logs in. */
  #retryLater(held: HeldToken): void {
    const left = held.since + held.ttlMs - Date.now();
    if (left <= 0) return;
    const wait = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, left / 2));
    this.#setTimer(withJitter(wait, 0.1), () => void this.#keepAlive(held));
  }

  #drop(): void {
    this.#current = undefined;
    this.#clearTimer();
  }

  #setTimer(ms: number, task: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      task();
    }, Math.min(ms, MAX_TIMER_MS));
    this.#timer.unref();
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
