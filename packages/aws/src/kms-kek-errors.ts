import { KeywardError, type KeywardErrorCode } from '@keyward/core';
import { sdkErrorFields } from './sdk-error-fields.js';

/** The one message of every refused unwrap: no detail an attacker could use as an oracle. */
export const REJECTED = 'the data key could not be unwrapped';

const MAX_MESSAGE = 300;

/**
 * What is kept of a failed KMS call, as the `cause` of the KeywardError: the SDK error's name, the
 * HTTP status and AWS's message (which names keys, never data). The SDK's error, which holds the
 * request and response, is dropped.
 */
class KmsFailure extends Error {
  override readonly name = 'KmsFailure';

  constructor(
    operation: string,
    readonly errorName: string,
    readonly httpStatusCode: number | undefined,
    readonly awsMessage: string,
  ) {
    super(`${operation}: ${errorName}${httpStatusCode === undefined ? '' : ` (${httpStatusCode})`}${awsMessage ? `: ${awsMessage}` : ''}`);
  }
}

const CODES: Readonly<Record<string, KeywardErrorCode>> = {
  InvalidCiphertextException: 'DECRYPT_FAILED',
  IncorrectKeyException: 'DECRYPT_FAILED',
  DisabledException: 'KEK_DISABLED',
  KMSInvalidStateException: 'KEK_DISABLED',
  NotFoundException: 'CONFIG_INVALID',
  InvalidKeyUsageException: 'CONFIG_INVALID',
  InvalidArnException: 'CONFIG_INVALID',
  UnsupportedOperationException: 'CONFIG_INVALID',
  ValidationException: 'CONFIG_INVALID',
  AccessDeniedException: 'PERMISSION_DENIED',
  UnrecognizedClientException: 'PERMISSION_DENIED',
  InvalidSignatureException: 'PERMISSION_DENIED',
  ExpiredTokenException: 'PERMISSION_DENIED',
  InvalidClientTokenId: 'PERMISSION_DENIED',
  InvalidGrantTokenException: 'PERMISSION_DENIED',
  KMSInternalException: 'KEK_UNAVAILABLE',
  DependencyTimeoutException: 'KEK_UNAVAILABLE',
  KeyUnavailableException: 'KEK_UNAVAILABLE',
  ThrottlingException: 'KEK_UNAVAILABLE',
  LimitExceededException: 'KEK_UNAVAILABLE',
  TimeoutError: 'KEK_UNAVAILABLE',
  RequestTimeout: 'KEK_UNAVAILABLE',
  RequestTimeoutException: 'KEK_UNAVAILABLE',
};

/** The IAM action an operation needs, named in PERMISSION_DENIED messages. */
const ACTIONS: Readonly<Record<string, string>> = {
  GenerateDataKey: 'kms:GenerateDataKey',
  Decrypt: 'kms:Decrypt',
  ReEncrypt: 'kms:ReEncryptFrom and kms:ReEncryptTo',
  DescribeKey: 'kms:DescribeKey',
};

/**
 * The Keyward code for a KMS error name, else by HTTP status: no status (a network failure), 429
 * and 5xx are `KEK_UNAVAILABLE`; 401 and 403 `PERMISSION_DENIED`; other 4xx `CONFIG_INVALID`.
 */
function codeFor(failure: KmsFailure): KeywardErrorCode {
  const known = CODES[failure.errorName];
  if (known !== undefined) return known;
  const status = failure.httpStatusCode;
  if (status === undefined || status === 429 || status >= 500) return 'KEK_UNAVAILABLE';
  if (status === 401 || status === 403) return 'PERMISSION_DENIED';
  return 'CONFIG_INVALID';
}

/**
 * Turns anything a KMS call threw into a KeywardError whose message and `cause` hold only AWS's
 * error name, HTTP status and message (`DECRYPT_FAILED` carries one fixed message). A call given up
 * because its signal aborted is `KEK_UNAVAILABLE`, or the signal's own KeywardError reason.
 *
 * @example
 * try { await client.send(command, { abortSignal: signal }); } catch (err) { throw kmsKekError(err, 'Decrypt', keyId, signal); }
 */
export function kmsKekError(err: unknown, operation: string, keyId: string, signal?: AbortSignal): KeywardError {
  if (KeywardError.is(err)) return err;
  const failure = sanitize(err, operation);
  if (failure.errorName === 'AbortError' || (signal?.aborted && failure.httpStatusCode === undefined)) {
    return abandoned(operation, keyId, signal, failure);
  }
  const code = codeFor(failure);
  const said = failure.awsMessage || failure.errorName;
  switch (code) {
    case 'DECRYPT_FAILED':
      return new KeywardError(code, REJECTED, { cause: failure });
    case 'KEK_DISABLED':
      return new KeywardError(code, `KMS key ${keyId} cannot be used now: ${said} (\`aws kms enable-key\`, or \`aws kms cancel-key-deletion\` then enable-key, brings it back)`, { cause: failure });
    case 'PERMISSION_DENIED':
      return new KeywardError(code, `KMS refused ${operation} on ${keyId}: ${said} (the key policy or IAM must allow ${ACTIONS[operation] ?? `kms:${operation}`})`, { cause: failure });
    case 'KEK_UNAVAILABLE':
      return new KeywardError(code, `KMS is unavailable (${operation} on ${keyId}): ${failure.errorName}${failure.awsMessage ? `: ${failure.awsMessage}` : ''}`, { cause: failure });
    default:
      return new KeywardError(code, `KMS key ${keyId}: ${operation} failed: ${said}`, { cause: failure });
  }
}

/** A call given up: the signal's KeywardError reason when it has one (the envelope's timeout), else KEK_UNAVAILABLE. */
export function abandoned(operation: string, keyId: string, signal: AbortSignal | undefined, cause?: KmsFailure): KeywardError {
  if (KeywardError.is(signal?.reason)) return signal.reason;
  return new KeywardError('KEK_UNAVAILABLE', `KMS ${operation} on ${keyId} abandoned (its signal aborted or the time allowed ran out)`, cause ? { cause } : {});
}

/** The SDK error's name, HTTP status and message; nothing else of it is kept. */
function sanitize(err: unknown, operation: string): KmsFailure {
  const { name, status, message } = sdkErrorFields(err);
  return new KmsFailure(operation, name, status, message === undefined ? '' : oneLine(message));
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line;
}
