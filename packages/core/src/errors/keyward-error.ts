/**
 * Every failure Keyward reports has a stable `code`. Codes are part of the public API:
 * match on them, never on messages.
 */
export type KeywardErrorCode =
  | 'CONFIG_INVALID'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_INVALID'
  | 'SECRET_NOT_DECLARED'
  | 'SECRET_NOT_LOADED'
  | 'SECRET_STALE'
  | 'SECRETS_UNAVAILABLE'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_TIMEOUT'
  | 'PROVIDER_REFUSED'
  | 'PERMISSION_DENIED'
  | 'STORE_CLOSED'
  | 'POOL_CLOSED'
  | 'POOL_TIMEOUT'
  | 'API_KEY_MISSING'
  | 'API_KEY_MALFORMED'
  | 'API_KEY_UNKNOWN'
  | 'API_KEY_REVOKED'
  | 'API_KEY_EXPIRED'
  | 'API_KEY_SCOPE'
  | 'KEY_RING_CONFLICT'
  | 'AUDIT_UNAVAILABLE'
  | 'AUDIT_CLOSED'
  | 'DECRYPT_FAILED'
  | 'KEK_UNAVAILABLE'
  | 'KEK_DISABLED'
  | 'ENVELOPE_MALFORMED'
  | 'ENVELOPE_VERSION';

/** Codes for failures that may go away by themselves: the store retries them and serves stale values meanwhile. */
const RETRYABLE: ReadonlySet<KeywardErrorCode> = new Set<KeywardErrorCode>([
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_TIMEOUT',
  'KEK_UNAVAILABLE',
]);

/**
 * What a `KeywardError` may carry besides its code and message: the `cause`, the secret's name and location.
 *
 * @example
 * throw new KeywardError('SECRET_NOT_FOUND', 'no such secret', { secret: 'database', location: 'secret/data/app/db', cause: err });
 */
export interface KeywardErrorOptions {
  cause?: unknown;
  /** The declared name of the secret concerned. */
  secret?: string;
  /** Where the secret lives (a path, a variable name); never its value. */
  location?: string;
  /** Overrides the default, which follows from the code. */
  retryable?: boolean;
}

/**
 * The brand every KeywardError carries, shared through the global symbol registry: an app that
 * loads both the ESM and the CommonJS build of `@keyward/core` (two copies of this class) still
 * recognises the errors of either copy.
 */
const KEYWARD_ERROR = Symbol.for('@keyward/core:KeywardError');

/**
 * The one error class Keyward throws. Its message names secrets and locations, never values.
 * Check for it with `KeywardError.is(err, code?)` (or `instanceof KeywardError`, which uses the
 * same brand): both hold across the ESM and CommonJS copies of the package.
 *
 * @example
 * try { await store.start(); }
 * catch (err) { if (KeywardError.is(err, 'SECRETS_UNAVAILABLE')) process.exit(1); }
 */
export class KeywardError extends Error {
  /**
   * True for a KeywardError from any copy of `@keyward/core` (ESM or CommonJS build), optionally
   * with the given `code`. Prefer it to `instanceof` when code from several packages meets.
   *
   * @example
   * if (KeywardError.is(err, 'API_KEY_REVOKED')) res.status(401);
   */
  static is(err: unknown, code?: KeywardErrorCode): err is KeywardError {
    return (
      typeof err === 'object' &&
      err !== null &&
      (err as { [KEYWARD_ERROR]?: unknown })[KEYWARD_ERROR] === true &&
      (code === undefined || (err as KeywardError).code === code)
    );
  }

  /** `instanceof KeywardError` by brand, so it holds across copies; subclasses keep the usual prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === KeywardError) return KeywardError.is(value);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  override readonly name: string = 'KeywardError';
  readonly code: KeywardErrorCode;
  readonly secret: string | undefined;
  readonly location: string | undefined;
  readonly retryable: boolean;
  /** The message without the secret's name and location in front. */
  readonly detail: string;

  constructor(code: KeywardErrorCode, detail: string, options: KeywardErrorOptions = {}) {
    super(describeWhere(detail, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
    this.secret = options.secret;
    this.location = options.location;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }

  /** What is safe to send anywhere: no cause, no stack. */
  toJSON(): { name: string; code: KeywardErrorCode; message: string; secret?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.secret === undefined ? {} : { secret: this.secret }),
    };
  }

  /**
   * Turns anything thrown by a provider into a KeywardError. Foreign errors become
   * `fallback` (PROVIDER_UNAVAILABLE unless told), keeping the original as `cause`.
   */
  static from(err: unknown, fallback: KeywardErrorCode = 'PROVIDER_UNAVAILABLE', options: KeywardErrorOptions = {}): KeywardError {
    if (KeywardError.is(err)) {
      if (err.secret !== undefined || options.secret === undefined) return err;
      // Add the name and location the provider did not know about.
      return new KeywardError(err.code, err.detail, { ...options, cause: err.cause, retryable: err.retryable });
    }
    if (isAbortError(err)) {
      return new KeywardError('PROVIDER_TIMEOUT', 'timed out', { ...options, cause: err });
    }
    const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
    const detail = typeof message === 'string' ? message : String(err);
    return new KeywardError(fallback, detail, { ...options, cause: err });
  }
}

/** The same check as `KeywardError.is(err, code?)`, as a function: `errors.filter(isKeywardError)`. */
export function isKeywardError(err: unknown, code?: KeywardErrorCode): err is KeywardError {
  return KeywardError.is(err, code);
}

Object.defineProperty(KeywardError.prototype, KEYWARD_ERROR, { value: true });

/** By name, not `instanceof Error`: a DOMException (AbortSignal.timeout) may come from another realm (vm, jest, a worker). */
function isAbortError(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'AbortError' || name === 'TimeoutError';
}

function describeWhere(detail: string, { secret, location }: KeywardErrorOptions): string {
  if (secret === undefined) return detail;
  return `secret "${secret}"${location ? ` (${location})` : ''}: ${detail}`;
}
