import { KeywardError, type KeywardErrorCode } from '@keyward/core';

/**
 * One Vault call, as messages name it: method and path, never a header or a body.
 *
 * @example { method: 'GET', path: 'secret/data/billing/production/database' }
 */
export interface VaultCall {
  readonly method: string;
  /** The path after `/v1/` (`secret/data/billing/production/database`). */
  readonly path: string;
}

/** What a failed Vault call left to report: the HTTP status and Vault's `errors`, or a network error code. */
export interface VaultFailureDetails {
  readonly status?: number | undefined;
  readonly errors?: readonly string[] | undefined;
  /** A network error code (`ECONNRESET`, `ETIMEDOUT`, `CERT_HAS_EXPIRED`). */
  readonly code?: string | undefined;
}

/**
 * A Vault failure that holds only what is safe to print: the call, the HTTP status, Vault's own
 * `errors` strings and a network error code. It is the `cause` of every KeywardError this package
 * throws, in place of node-vault's, axios' or Node's errors, which carry the request headers
 * (`X-Vault-Token`) and response bodies.
 *
 * @example
 * catch (err) { if (err.cause instanceof VaultRequestError && err.cause.status === 503) ... }
 */
export class VaultRequestError extends Error {
  override readonly name = 'VaultRequestError';
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly errors: readonly string[];
  readonly code: string | undefined;

  constructor(call: VaultCall, details: VaultFailureDetails) {
    const errors = details.errors ?? [];
    const what = details.status !== undefined ? `${details.status}` : (details.code ?? 'failed');
    super(`${call.method} /v1/${call.path}: ${what}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`);
    this.method = call.method;
    this.path = call.path;
    this.status = details.status;
    this.errors = errors;
    this.code = details.code;
  }
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);
const TLS_CODE = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|ERR_OSSL_)/;
const MAX_ERRORS = 5;
const MAX_ERROR_LENGTH = 300;

/**
 * Keeps what is safe of anything a Vault call threw: node-vault's `ApiResponseError`
 * (`response.statusCode`, `response.body.errors`), an axios error (`response.status`,
 * `response.data.errors`, `code`) or a Node network error (`code`). Headers, request config and
 * bodies are dropped; `redact` strings (the token in use) are cut out of Vault's messages.
 */
export function sanitizeVaultFailure(err: unknown, call: VaultCall, redact: readonly string[] = []): VaultRequestError {
  if (err instanceof VaultRequestError) return err;
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const response = (typeof o['response'] === 'object' && o['response'] !== null ? o['response'] : undefined) as Record<string, unknown> | undefined;
  const rawStatus = response?.['statusCode'] ?? response?.['status'];
  const status = typeof rawStatus === 'number' ? rawStatus : undefined;
  const body = response?.['body'] ?? response?.['data'];
  const errors = status === undefined ? [] : vaultErrorStrings(body, redact);
  const code = typeof o['code'] === 'string' && /^[A-Z0-9_]{2,40}$/.test(o['code']) ? o['code'] : undefined;
  return new VaultRequestError(call, { status, errors, code: status === undefined ? (code ?? 'ENETWORK') : undefined });
}

/** Vault's `{"errors": [...]}` strings, flattened to one line each, bounded, with `redact` cut out. */
function vaultErrorStrings(body: unknown, redact: readonly string[]): string[] {
  const list = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  if (!Array.isArray(list)) return [];
  return list
    .filter((e): e is string => typeof e === 'string')
    .slice(0, MAX_ERRORS)
    .map((e) => {
      let text = e.replace(/\s+/g, ' ').trim();
      for (const r of redact) if (r.length >= 4) text = text.split(r).join('[redacted]');
      return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
    })
    .filter((e) => e.length > 0);
}

/**
 * The Keyward code for a Vault failure:
 * 401/403 → PERMISSION_DENIED; 404 → SECRET_NOT_FOUND; 400, 405 and other 4xx → CONFIG_INVALID (the
 * request was built from configuration: mount, path, role, credentials); 412, 429, 5xx →
 * PROVIDER_UNAVAILABLE (retried, stale values served meanwhile); a timeout → PROVIDER_TIMEOUT; a
 * refused TLS certificate → CONFIG_INVALID; any other network failure → PROVIDER_UNAVAILABLE.
 */
export function keywardCodeFor(failure: VaultRequestError): KeywardErrorCode {
  const { status, code } = failure;
  if (status === undefined) {
    if (code !== undefined && TIMEOUT_CODES.has(code)) return 'PROVIDER_TIMEOUT';
    if (code !== undefined && TLS_CODE.test(code)) return 'CONFIG_INVALID';
    return 'PROVIDER_UNAVAILABLE';
  }
  if (status === 401 || status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'SECRET_NOT_FOUND';
  if (status === 412 || status === 429 || status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'CONFIG_INVALID';
}

/**
 * Turns anything a Vault call threw into a KeywardError whose message and `cause` hold no token,
 * header or body. `doing` says what the call was for (`AppRole login`), for the message.
 *
 * @example
 * throw vaultError(err, { method: 'GET', path: 'secret/data/app' }, { redact: [token] });
 */
export function vaultError(err: unknown, call: VaultCall, options: { redact?: readonly string[]; doing?: string } = {}): KeywardError {
  if (KeywardError.is(err)) return err;
  const cause = sanitizeVaultFailure(err, call, options.redact);
  return new KeywardError(keywardCodeFor(cause), describe(cause, options.doing), { cause });
}

function describe(failure: VaultRequestError, doing: string | undefined): string {
  const { status, code, errors } = failure;
  const call = `${doing ? `${doing}: ` : ''}${failure.method} /v1/${failure.path}`;
  const said = errors.length > 0 ? `: ${errors.join('; ')}` : '';
  if (status === undefined) {
    if (code !== undefined && TIMEOUT_CODES.has(code)) return `${call}: Vault did not answer in time`;
    if (code !== undefined && TLS_CODE.test(code)) return `${call}: Vault's TLS certificate was refused (${code}); check the tls options`;
    return `${call}: Vault could not be reached (${code ?? 'network error'})`;
  }
  if (status === 503 && errors.some((e) => /sealed/i.test(e))) return `${call}: Vault is sealed (503)`;
  if (status === 401 || status === 403) return `${call}: Vault refused the request (${status})${said}`;
  if (status === 404) return `${call}: Vault has nothing there (404)${said}`;
  if (status === 429) return `${call}: Vault is rate limiting or standing by (429)${said}`;
  if (status >= 500 || status === 412) return `${call}: Vault is unavailable (${status})${said}`;
  return `${call}: Vault refused the request as invalid (${status})${said}`;
}

/**
 * The error for a call abandoned because its signal aborted: the reason itself when it is a
 * KeywardError (the store closing), else PROVIDER_TIMEOUT (the store's read timeout, a caller's abort).
 */
export function abortedCallError(reason: unknown, call: VaultCall, doing?: string): KeywardError {
  if (KeywardError.is(reason)) return reason;
  const timedOut = typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
  const cause = new VaultRequestError(call, { code: timedOut ? 'ETIMEDOUT' : 'ABORTED' });
  const what = timedOut ? 'no answer within the time allowed' : 'abandoned (its signal aborted)';
  return new KeywardError('PROVIDER_TIMEOUT', `${doing ? `${doing}: ` : ''}${call.method} /v1/${call.path}: ${what}`, { cause });
}

/** The HTTP status behind a KeywardError from this package, if Vault answered one. */
export function vaultStatusOf(err: unknown): number | undefined {
  const cause = KeywardError.is(err) ? err.cause : err;
  return cause instanceof VaultRequestError ? cause.status : undefined;
}
