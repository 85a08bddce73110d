import { EventEmitter, setMaxListeners } from 'node:events';
import { deadlineSignal, KeywardError, parseDuration, safeEmit, type DeadlineSignal, type Duration } from '@keyward/core';
import NodeVault from 'node-vault';
import { AuthSession, type VaultConnectionEvents } from './auth/auth-session.js';
import type { VaultAuth, VaultAuthContext } from './auth/vault-auth.js';
import { abortedCallError, vaultError, vaultStatusOf, type VaultCall } from './vault-errors.js';
import { createVaultTransport, type TransportRequest, type VaultTlsOptions, type VaultTransport } from './vault-transport.js';

export type { VaultConnectionEvents } from './auth/auth-session.js';

/**
 * How to reach Vault and log in.
 *
 * @example
 * { endpoint: 'https://vault:8200', namespace: 'payments', tls: { ca }, timeout: '5s', auth: kubernetesAuth({ role: 'billing' }) }
 */
export interface VaultConnectionOptions {
  /** Vault's address, e.g. `https://vault.internal:8200` (default: the `VAULT_ADDR` environment variable). */
  readonly endpoint?: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace` on every call (default: `VAULT_NAMESPACE`). */
  readonly namespace?: string;
  readonly tls?: VaultTlsOptions;
  /** Time allowed for one HTTP call (default `'10s'`); a caller's AbortSignal may end it sooner. */
  readonly timeout?: Duration;
  /** How to get a token: `tokenAuth()`, `appRoleAuth()`, `kubernetesAuth()`. */
  readonly auth: VaultAuth;
  /** Renew the token in the background at about 2/3 of its TTL, logging in again near its max TTL (default `true`). */
  readonly renewToken?: boolean;
  /** Revoke the token on `close()` when it comes from this process's own login (default `false`: it expires). */
  readonly revokeTokenOnClose?: boolean;
}

/**
 * What a provider talks to: a shared connection (`{ connection }`, closed by whoever created it),
 * or connection options (the provider then opens its own and closes it in its `close()`).
 *
 * @example
 * vaultKv({ connection: vault })                                         // shared
 * vaultKv({ endpoint: 'http://127.0.0.1:8200', auth: tokenAuth() })     // its own
 */
export type VaultConnectionChoice = { readonly connection: VaultConnection } | VaultConnectionOptions;

/**
 * One Vault call.
 *
 * @example { method: 'PUT', path: 'sys/leases/lookup', body: { lease_id }, signal, doing: 'lease lookup' }
 */
export interface VaultRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path after `/v1/`, segments already URL-encoded (`secret/data/billing/production/database`). */
  readonly path: string;
  readonly body?: object;
  readonly signal?: AbortSignal;
  /** Error statuses to answer with rather than throw (KV v2 answers a deleted version with a 404 and a body). */
  readonly accept?: readonly number[];
  /** What the call is for, in error messages. */
  readonly doing?: string;
}

/**
 * Vault's answer: the status (200, 204, or one of `accept`) and the parsed JSON body.
 *
 * @example const { status, body } = await vault.request<{ data: { keys: string[] } }>({ method: 'GET', path: 'secret/metadata/app' });
 */
export interface VaultAnswer<T> {
  readonly status: number;
  readonly body: T;
}

/**
 * A connection to Vault shared by providers: one token for all of them, kept alive in the
 * background (renewal, login again) and replaced when Vault refuses it. Every call has a timeout
 * and honours its caller's AbortSignal. Errors are KeywardErrors whose message and cause never
 * hold the token, a header or a response body.
 *
 * Events: `login`, `tokenRenewed`, `authFailed` (see {@link VaultConnectionEvents}).
 *
 * @example
 * const vault = createVaultConnection({
 *   endpoint: 'https://vault.internal:8200',
 *   auth: appRoleAuth({ roleId, secretIdFile: '/run/secrets/vault-secret-id' }),
 * });
 * const providers = { production: { default: vaultKv({ connection: vault }), db: vaultDatabaseCredentials({ connection: vault, role: 'billing' }) } };
 * // ... and after store.close(): await vault.close();
 */
export class VaultConnection extends EventEmitter<VaultConnectionEvents> {
  /** Events go out from inside its own work: a listener that throws must not break that work (see `safeEmit`). */
  readonly #emitSafely = safeEmit(this, 'Vault connection');
  readonly endpoint: string;
  readonly namespace: string | undefined;
  readonly #client: NodeVault.client;
  readonly #transport: VaultTransport;
  readonly #session: AuthSession;
  readonly #closing = new AbortController();
  readonly #timeoutMs: number;
  readonly #revokeTokenOnClose: boolean;
  #closed: Promise<void> | undefined;

  constructor(options: VaultConnectionOptions) {
    super();
    setMaxListeners(0, this.#closing.signal); // every call in flight links to it (deadlineSignal): no warning past 10
    const endpoint = options.endpoint ?? process.env['VAULT_ADDR'];
    if (!endpoint || !/^https?:\/\/[^/]/.test(endpoint)) {
      throw new KeywardError('CONFIG_INVALID', `the Vault endpoint must be an http(s) URL such as https://vault:8200 (got ${endpoint ? JSON.stringify(endpoint) : 'none, and VAULT_ADDR is not set'})`);
    }
    if (!options.auth || typeof options.auth.login !== 'function') {
      throw new KeywardError('CONFIG_INVALID', 'the Vault connection needs `auth`: tokenAuth(), appRoleAuth() or kubernetesAuth()');
    }
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.namespace = options.namespace ?? (process.env['VAULT_NAMESPACE'] || undefined);
    this.#timeoutMs = parseDuration(options.timeout ?? '10s', 'Vault timeout');
    this.#revokeTokenOnClose = options.revokeTokenOnClose ?? false;
    this.#transport = createVaultTransport({ timeoutMs: this.#timeoutMs, ...(options.tls ? { tls: options.tls } : {}) });
    const transport = this.#transport;
    this.#client = NodeVault({
      endpoint: this.endpoint,
      apiVersion: 'v1',
      ...(this.namespace ? { namespace: this.namespace } : {}),
      // node-vault logs request bodies (secret_id, JWTs, values) under DEBUG=node-vault: never.
      debug: () => {},
      'request-promise': { defaults: () => (request: TransportRequest) => transport.send(request) },
    });
    // The token goes with each call (it changes); node-vault must not fall back to VAULT_TOKEN or VAULT_PREFIX.
    this.#client.token = '';
    (this.#client as unknown as { pathPrefix: string }).pathPrefix = '';
    const vault: VaultAuthContext = {
      request: async <T>(r: Parameters<VaultAuthContext['request']>[0]) =>
        (await this.#send<T>({ method: r.method, path: r.path, doing: r.doing, ...(r.body ? { body: r.body } : {}) }, r.token, [r.signal])).body,
    };
    this.#session = new AuthSession(options.auth, vault, {
      renewToken: options.renewToken ?? true,
      signal: this.#closing.signal,
      emit: (event, ...args) => this.#emitSafely(event, ...args),
    });
  }

  /**
   * Sends one authenticated call. A 403 (or 401) gets ONE new token (one login shared by every
   * call refused meanwhile) and ONE retry, when the auth method can log in again.
   *
   * @example
   * const { body } = await vault.request<{ data: unknown }>({ method: 'GET', path: 'secret/metadata/app', signal });
   */
  async request<T = unknown>(request: VaultRequest): Promise<VaultAnswer<T>> {
    if (this.#closed) throw new KeywardError('PROVIDER_UNAVAILABLE', 'the Vault connection is closed', { retryable: false });
    // The caller's signal and the connection's close end the call. The transport listens to both
    // for this call only; one signal linking them is built only if the call must wait for a login.
    const signals = request.signal === undefined ? [this.#closing.signal] : [request.signal, this.#closing.signal];
    let linked: DeadlineSignal | undefined;
    const signal = () => (linked ??= deadlineSignal(undefined, signals)).signal;
    const call: VaultCall = { method: request.method, path: request.path };
    const aborted = (err: unknown) => {
      const by = signals.find((s) => s.aborted);
      return by === undefined ? err : abortedCallError(by.reason, call, request.doing);
    };
    try {
      const token =
        this.#session.current() ??
        (await this.#session.token(signal()).catch((err: unknown) => {
          throw aborted(err);
        }));
      try {
        return await this.#send<T>(request, token, signals);
      } catch (err) {
        const status = vaultStatusOf(err);
        if (status !== 403 && status !== 401) throw err;
        const fresh = await this.#session.replace(token, signal()).catch((loginError: unknown) => {
          throw aborted(loginError);
        });
        if (fresh === undefined) throw err;
        return await this.#send<T>(request, fresh, signals);
      }
    } finally {
      linked?.done();
    }
  }

  /** Stops the token's renewal, revokes it if `revokeTokenOnClose`, ends calls in flight, closes sockets. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#session.close(this.#revokeTokenOnClose, AbortSignal.timeout(this.#timeoutMs));
      this.#closing.abort(new KeywardError('PROVIDER_UNAVAILABLE', 'the Vault connection is closed', { retryable: false }));
      this.#transport.close();
    })();
    return this.#closed;
  }

  async #send<T>(request: VaultRequest, token: string | undefined, signals: readonly (AbortSignal | undefined)[]): Promise<VaultAnswer<T>> {
    const call: VaultCall = { method: request.method, path: request.path };
    try {
      const body = (await this.#client.request({
        path: `/${request.path}`,
        method: request.method,
        headers: token ? { 'X-Vault-Token': token } : {},
        signals,
        ...(request.body ? { json: request.body } : {}),
      })) as T;
      return { status: body === undefined ? 204 : 200, body };
    } catch (err) {
      const by = signals.find((s) => s?.aborted);
      if (by !== undefined) throw abortedCallError(by.reason, call, request.doing);
      const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
      if (typeof response?.statusCode === 'number' && request.accept?.includes(response.statusCode)) {
        return { status: response.statusCode, body: response.body as T };
      }
      throw vaultError(err, call, { redact: token ? [token] : [], ...(request.doing ? { doing: request.doing } : {}) });
    }
  }
}

/**
 * Opens a connection to Vault for providers to share (it logs in on first use).
 *
 * @example
 * const vault = createVaultConnection({ endpoint: 'http://127.0.0.1:8200', auth: tokenAuth({ token: process.env.VAULT_TOKEN }) });
 */
export function createVaultConnection(options: VaultConnectionOptions): VaultConnection {
  return new VaultConnection(options);
}
