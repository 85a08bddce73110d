import { KeywardError, type KeywardErrorCode } from '@keyward/core';
import { SAFE_NAME, sdkErrorFields } from './sdk-error-fields.js';

/**
 * What is safe to keep of a failed Secrets Manager call: the SDK error's name, the HTTP status and
 * AWS's message. It is the `cause` of every KeywardError this package throws, in place of the SDK's
 * error, which may carry the request and response.
 *
 * @example
 * catch (err) { if (err.cause instanceof SecretsManagerFailure && err.cause.errorName === 'ThrottlingException') ... }
 */
export class SecretsManagerFailure extends Error {
  override readonly name = 'SecretsManagerFailure';
  /** The SDK error's name (`ResourceNotFoundException`) or a network code (`ECONNREFUSED`). */
  readonly errorName: string;
  readonly httpStatusCode: number | undefined;

  constructor(operation: string, errorName: string, httpStatusCode: number | undefined, message: string | undefined) {
    super(`${operation}: ${errorName}${httpStatusCode === undefined ? '' : ` (${httpStatusCode})`}${message ? `: ${oneLine(message)}` : ''}`);
    this.errorName = errorName;
    this.httpStatusCode = httpStatusCode;
  }
}

const MAX_MESSAGE = 300;

const CODES: Readonly<Record<string, KeywardErrorCode>> = {
  ResourceNotFoundException: 'SECRET_NOT_FOUND',
  AccessDeniedException: 'PERMISSION_DENIED',
  // KMS refused to decrypt: the key policy or a grant is missing (or the key is disabled). Waiting will not help.
  DecryptionFailure: 'PERMISSION_DENIED',
  UnrecognizedClientException: 'PERMISSION_DENIED',
  InvalidSignatureException: 'PERMISSION_DENIED',
  ExpiredTokenException: 'PERMISSION_DENIED',
  InvalidClientTokenId: 'PERMISSION_DENIED',
  InvalidParameterException: 'CONFIG_INVALID',
  ValidationException: 'CONFIG_INVALID',
  ThrottlingException: 'PROVIDER_UNAVAILABLE',
  TooManyRequestsException: 'PROVIDER_UNAVAILABLE',
  InternalServiceError: 'PROVIDER_UNAVAILABLE',
  ServiceUnavailable: 'PROVIDER_UNAVAILABLE',
  TimeoutError: 'PROVIDER_TIMEOUT',
  RequestTimeout: 'PROVIDER_TIMEOUT',
  RequestTimeoutException: 'PROVIDER_TIMEOUT',
};

/**
 * The Keyward code for a Secrets Manager error name (and HTTP status, when there is no rule for the name):
 * ResourceNotFoundException → SECRET_NOT_FOUND; AccessDeniedException, DecryptionFailure and refused
 * credentials → PERMISSION_DENIED; InvalidRequestException → SECRET_NOT_FOUND when the secret is
 * deleted or scheduled for deletion, else SECRET_INVALID; InvalidParameterException → CONFIG_INVALID;
 * throttling, 5xx and network failures → PROVIDER_UNAVAILABLE (retried, stale value served); timeouts
 * → PROVIDER_TIMEOUT.
 */
export function keywardCodeFor(failure: SecretsManagerFailure): KeywardErrorCode {
  const known = CODES[failure.errorName];
  if (known !== undefined) return known;
  if (failure.errorName === 'InvalidRequestException') return isDeletion(failure.message) ? 'SECRET_NOT_FOUND' : 'SECRET_INVALID';
  const status = failure.httpStatusCode;
  if (status === undefined || status === 429 || status >= 500) return 'PROVIDER_UNAVAILABLE';
  if (status === 401 || status === 403) return 'PERMISSION_DENIED';
  return 'CONFIG_INVALID';
}

/**
 * Turns anything the SDK threw (or a `BatchGetSecretValue` `Errors` entry) into a KeywardError whose
 * message and `cause` hold only the error's name, HTTP status and AWS's message.
 *
 * @example
 * try { await client.send(command, { abortSignal: signal }); } catch (err) { throw secretsManagerError(err, 'GetSecretValue', signal); }
 */
export function secretsManagerError(err: unknown, operation: string, signal?: AbortSignal): KeywardError {
  if (KeywardError.is(err)) return err;
  if (signal?.aborted && KeywardError.is(signal.reason)) return signal.reason;
  const failure = sanitizeFailure(err, operation);
  if (failure.errorName === 'AbortError' || (signal?.aborted && failure.httpStatusCode === undefined)) {
    return new KeywardError('PROVIDER_TIMEOUT', `${operation}: abandoned (its signal aborted or the time allowed ran out)`, { cause: failure });
  }
  return new KeywardError(keywardCodeFor(failure), describe(failure, operation), { cause: failure });
}

/** The SDK error's name, HTTP status and message; nothing else of it is kept. */
export function sanitizeFailure(err: unknown, operation: string): SecretsManagerFailure {
  if (err instanceof SecretsManagerFailure) return err;
  const { name, status, message } = sdkErrorFields(err);
  return new SecretsManagerFailure(operation, name, status, message);
}

/** A `BatchGetSecretValue` `Errors` entry as the failure of that one secret. */
export function batchEntryError(errorCode: string | undefined, message: string | undefined): KeywardError {
  const name = errorCode !== undefined && SAFE_NAME.test(errorCode) ? errorCode : 'UnknownError';
  return secretsManagerError(new SecretsManagerFailure('BatchGetSecretValue', name, undefined, message), 'BatchGetSecretValue');
}

/** The SDK error name behind a KeywardError from this package. */
export function errorNameOf(err: unknown): string | undefined {
  const cause = KeywardError.is(err) ? err.cause : err;
  return cause instanceof SecretsManagerFailure ? cause.errorName : undefined;
}

function isDeletion(message: string): boolean {
  return /delet/i.test(message);
}

function describe(failure: SecretsManagerFailure, operation: string): string {
  const said = failure.message.slice(operation.length + 2);
  switch (keywardCodeFor(failure)) {
    case 'SECRET_NOT_FOUND':
      return failure.errorName === 'InvalidRequestException'
        ? `${said} (the secret is deleted or scheduled for deletion; \`aws secretsmanager restore-secret\` brings it back)`
        : said;
    case 'PERMISSION_DENIED':
      return `Secrets Manager refused: ${said}`;
    case 'PROVIDER_UNAVAILABLE':
      return `Secrets Manager is unavailable: ${said}`;
    default:
      return said;
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line;
}
