import { EventEmitter } from 'node:events';
import type { Agent as HttpsAgent, AgentOptions as HttpsAgentOptions } from 'node:https';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';
import type { SecretStore } from '../store/secret-store.js';
import type { SecretRotatedEvent } from '../store/store-events.js';
import type { HealthStatus } from '../store/store-health.js';
import { parseDuration, type Duration } from '../util/index.js';
import { safeEmit } from '../util/safe-emit.js';
import { clientAgent, clientConnector, type ClientTlsOptions, type TlsConnector } from './tls-clients.js';
import { checkTls, TlsRefusal, trustAnchors, type CheckedTls, type TlsCertificateInfo, type TlsProblem } from './tls-material.js';

/** The secure-context options Keyward adds to each certificate: everything but the certificate and key. */
export type TlsContextOptions = Omit<SecureContextOptions, 'cert' | 'key' | 'pfx' | 'passphrase'>;

/**
 * Options of {@link tlsFromSecret}.
 *
 * @example
 * { context: { ca: clientCa, minVersion: 'TLSv1.3' }, trust: privateRootPem }
 */
export interface TlsFromSecretOptions {
  /**
   * Added to every server context built from the secret: `ca` to verify client certificates,
   * `ciphers`, `minVersion`… (`setSecureContext()` replaces the whole context, so they must be
   * given here rather than only to `createServer`).
   */
  readonly context?: TlsContextOptions;
  /**
   * Roots the chain check accepts besides Node's root store and self-signed CA certificates in
   * the secret itself (Vault's `issuing_ca`, Kubernetes' `ca.crt`): PEM, one or several.
   */
  readonly trust?: string | readonly string[];
  /** How far in the future a certificate's start may be and still be taken (clocks differ; default `'1m'`). */
  readonly clockSkew?: Duration;
}

/**
 * The TLS part of a health report: the certificate served, and the last one refused if it is
 * newer. `degraded` while a refused certificate is the store's newest or when less than a tenth
 * of the served certificate's life (from when it began to be served) is left; `down` once it
 * has expired.
 */
export interface TlsHealth {
  readonly status: HealthStatus;
  readonly certificate: TlsCertificateInfo;
  /** Time until the served certificate expires (negative once it has). */
  readonly expiresInMs: number;
  /** The newest certificate the secret held that was refused: which version, and why. */
  readonly rejected?: { readonly version: string; readonly problem: TlsProblem; readonly error: string; readonly at: string };
}

/**
 * The events of a {@link TlsFromSecret}.
 *
 * @example
 * tls.on('rejected', ({ version, problem }) => log.error({ version, problem }, 'new TLS certificate refused; the old one stays'));
 */
export interface TlsFromSecretEvents {
  /** A new certificate is served on new connections (and presented by the client agents). */
  updated: [{ readonly version: string; readonly previous: string; readonly serial: string; readonly notAfter: string }];
  /** A new value of the secret was refused: the served certificate stays. The error is a `SECRET_INVALID` KeywardError. */
  rejected: [{ readonly version: string; readonly problem: TlsProblem; readonly error: KeywardError }];
}

/** What `attach()` swaps certificates in: an `https`, `http2` (secure) or `tls` server. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * A certificate and key kept from a secret: served by the servers it is attached to, presented
 * by its client agents, and swapped on new connections when the secret rotates. Connections
 * already open keep the certificate they began with.
 */
export interface TlsFromSecret extends EventEmitter<TlsFromSecretEvents> {
  /** The certificate served now. */
  readonly certificate: TlsCertificateInfo;
  /** The context options for `https.createServer()` / `http2.createSecureServer()` / `tls.createServer()`: `{ ...context, cert, key }`. */
  options(): SecureContextOptions;
  /** The current server context (checked, built once per version): what `sniCallback()` hands out. */
  secureContext(): SecureContext;
  /**
   * Swaps the certificate into `server` (with `setSecureContext()`) each time the secret brings a
   * new valid one, until `close()`. Returns the server.
   */
  attach<S extends SecureContextTarget>(server: S): S;
  /**
   * An `https.Agent` that presents the certificate as a client certificate (mutual TLS). New
   * connections present the newest one; pooled connections keep theirs until they close, and
   * idle ones made with an older certificate are closed at a swap. `ca` is whom it trusts.
   */
  httpsAgent(options?: HttpsAgentOptions & ClientTlsOptions): HttpsAgent;
  /**
   * A `connect` function for undici (`new Agent({ connect: tls.undiciConnect({ ca }) })`, also
   * for `fetch`'s `dispatcher`) that presents the certificate as a client certificate; each new
   * connection presents the newest one.
   */
  undiciConnect(options?: ClientTlsOptions & { readonly timeout?: Duration }): TlsConnector;
  health(): TlsHealth;
  /** Stops following the secret: attached servers and agents keep the certificate they have. Idempotent. */
  close(): void;
}

class TlsFromSecretInstance extends EventEmitter<TlsFromSecretEvents> implements TlsFromSecret {
  readonly #emitSafely = safeEmit(this, 'TLS certificate');
  readonly #store: SecretStore;
  readonly #secret: string;
  readonly #context: TlsContextOptions;
  readonly #check: (secret: Secret<unknown>) => CheckedTls;
  readonly #servers = new Set<SecureContextTarget>();
  readonly #onRotated = (event: SecretRotatedEvent) => this.#rotated(event);
  #current: CheckedTls;
  /** When the current certificate began to be served. */
  #servedAt = Date.now();
  #rejected: TlsHealth['rejected'];
  #closed = false;

  constructor(store: SecretStore, secret: string, options: TlsFromSecretOptions) {
    super();
    this.#store = store;
    this.#secret = secret;
    this.#context = options.context ?? {};
    const trust = trustAnchors(options.trust);
    const clockSkewMs = parseDuration(options.clockSkew ?? '1m', 'clockSkew');
    this.#check = (s) => checkTls(s.reveal(), { secret, version: s.version, trust, context: this.#context, clockSkewMs, now: Date.now() });
    this.#current = this.#check(store.get(secret) as Secret<unknown>);
    store.on('rotated', this.#onRotated);
  }

  get certificate(): TlsCertificateInfo {
    return this.#current.info;
  }

  options(): SecureContextOptions {
    return { ...this.#context, cert: this.#current.chain, key: this.#current.key };
  }

  secureContext(): SecureContext {
    return this.#current.context;
  }

  attach<S extends SecureContextTarget>(server: S): S {
    if (this.#closed) throw new KeywardError('STORE_CLOSED', `the TLS certificate from ${this.#secret} is closed`);
    this.#servers.add(server);
    server.setSecureContext(this.options());
    return server;
  }

  httpsAgent(options: HttpsAgentOptions & ClientTlsOptions = {}): HttpsAgent {
    return clientAgent(this, () => this.#current, options);
  }

  undiciConnect(options: ClientTlsOptions & { readonly timeout?: Duration } = {}): TlsConnector {
    return clientConnector(() => this.#current, options);
  }

  health(): TlsHealth {
    const { info, notBeforeMs, notAfterMs } = this.#current;
    const expiresInMs = notAfterMs - Date.now();
    // Its life as served here: Vault backdates notBefore (30 s), and a certificate may be taken late in its life.
    const lifeMs = notAfterMs - Math.max(notBeforeMs, this.#servedAt);
    const status: HealthStatus = expiresInMs <= 0 ? 'down' : this.#rejected !== undefined || expiresInMs < lifeMs / 10 ? 'degraded' : 'ok';
    return { status, certificate: info, expiresInMs, ...(this.#rejected === undefined ? {} : { rejected: this.#rejected }) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.off('rotated', this.#onRotated);
    this.#servers.clear();
  }

  #rotated(event: SecretRotatedEvent): void {
    if (event.name !== this.#secret || this.#closed) return;
    let next: CheckedTls;
    try {
      next = this.#check(event.current);
    } catch (err) {
      const error = err instanceof TlsRefusal ? err : new TlsRefusal('malformed', { secret: this.#secret, version: event.current.version }, 'it could not be checked', err);
      this.#rejected = { version: event.current.version, problem: error.problem, error: error.code, at: new Date().toISOString() };
      this.#emitSafely('rejected', { version: event.current.version, problem: error.problem, error });
      return;
    }
    const previous = this.#current;
    this.#current = next;
    this.#servedAt = Date.now();
    this.#rejected = undefined;
    for (const server of this.#servers) server.setSecureContext(this.options());
    this.#emitSafely('updated', { version: next.info.version, previous: previous.info.version, serial: next.info.serial, notAfter: next.info.notAfter });
  }
}

/**
 * Serves (and presents) the TLS certificate held in a secret, swapped live when the secret
 * rotates: a Kubernetes TLS secret mounted as files (`fileProvider`), a certificate from Vault's
 * PKI engine (`vaultPkiCertificate` in `@keyward/vault`), or PEM in Secrets Manager. Each new
 * value is checked first: the key matches the certificate, the certificate and its chain are
 * within their validity, and the chain reaches a trusted root. A value that fails keeps the
 * current certificate, emits `rejected` and shows in `health()`; a bad first value throws
 * `SECRET_INVALID`. New connections get the new certificate; open ones keep theirs.
 *
 * @example
 * const cert = tlsFromSecret(store, 'tls', { context: { minVersion: 'TLSv1.2' } });
 * const server = cert.attach(https.createServer(cert.options(), app));
 * server.listen(8443);
 * // mutual TLS towards a partner:
 * const agent = tlsFromSecret(store, 'clientCert').httpsAgent({ ca: partnerCa, keepAlive: true });
 */
export function tlsFromSecret(store: SecretStore, secret: string, options: TlsFromSecretOptions = {}): TlsFromSecret {
  return new TlsFromSecretInstance(store, secret, options);
}
