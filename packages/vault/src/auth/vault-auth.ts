import { KeywardError } from '@keyward/core';

/**
 * A Vault token as a login (or the configured token's lookup) describes it.
 *
 * @example { token: 'hvs.…', ttlMs: 3_600_000, renewable: true }
 */
export interface VaultToken {
  readonly token: string;
  /** Time to live from now; 0 for a token that never expires (a root token). */
  readonly ttlMs: number;
  readonly renewable: boolean;
}

/**
 * One call an auth method makes: no token is sent unless it passes one.
 *
 * @example { method: 'POST', path: 'auth/userpass/login/app', body: { password }, signal, doing: 'userpass login' }
 */
export interface VaultAuthRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The path after `/v1/`. */
  readonly path: string;
  readonly body?: object;
  readonly token?: string;
  readonly signal: AbortSignal;
  /** What the call is for, in error messages (`AppRole login`). */
  readonly doing: string;
}

/**
 * What an auth method may do with Vault: send a call, get the response body (KeywardErrors on failure).
 *
 * @example const body = await vault.request<{ data: { ttl: number } }>({ method: 'GET', path: 'auth/token/lookup-self', token, signal, doing: 'token lookup' });
 */
export interface VaultAuthContext {
  request<T = unknown>(request: VaultAuthRequest): Promise<T>;
}

/**
 * How a connection gets its token. Build one with `tokenAuth`, `appRoleAuth` or `kubernetesAuth`;
 * a custom method (LDAP, JWT/OIDC, cert) implements this interface.
 *
 * @example
 * const userpass: VaultAuth = {
 *   method: 'userpass', canLoginAgain: true, ownsToken: true,
 *   async login(vault, signal) {
 *     const body = await vault.request({ method: 'POST', path: 'auth/userpass/login/app', body: { password }, signal, doing: 'userpass login' });
 *     return tokenFromLogin(body, 'userpass login');
 *   },
 * };
 */
export interface VaultAuth {
  /** Short name for events and messages (`token`, `approle`, `kubernetes`). */
  readonly method: string;
  /** Whether calling `login` again can give a new token (a refused or expiring one is then replaced). */
  readonly canLoginAgain: boolean;
  /** Whether the token comes from this process's own login, so that `revokeTokenOnClose` may revoke it. */
  readonly ownsToken: boolean;
  /**
   * Gets a token. `options.renew` says whether the connection will renew it: when `false`, a
   * method may skip what it asks Vault only for renewal (tokenAuth's lookup-self).
   */
  login(vault: VaultAuthContext, signal: AbortSignal, options?: VaultLoginOptions): Promise<VaultToken>;
}

/** What a connection tells `VaultAuth.login` about the token's use. */
export interface VaultLoginOptions {
  /** The connection renews the token before its TTL ends (its `renewToken` option). */
  readonly renew: boolean;
}

/**
 * The token in a login answer (`auth.client_token`, `auth.lease_duration`, `auth.renewable`).
 *
 * @example const token = tokenFromLogin(await vault.request({ ... }), 'AppRole login');
 */
export function tokenFromLogin(body: unknown, doing: string): VaultToken {
  const auth = (body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | undefined)?.auth;
  if (typeof auth?.client_token !== 'string' || auth.client_token.length === 0) {
    throw new KeywardError('CONFIG_INVALID', `${doing}: Vault's answer holds no auth.client_token (is the mount an auth method of that type?)`);
  }
  const seconds = typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration : 0;
  return { token: auth.client_token, ttlMs: seconds * 1000, renewable: auth.renewable === true };
}
