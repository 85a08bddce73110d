/**
 * An AWS JSON-protocol error answer: `{"__type": type, "message": ...}` with the HTTP status the
 * KMS API Reference documents for it. `message` is left out where KMS sends none
 * (InvalidCiphertextException).
 */
export class KmsError extends Error {
  readonly status: number;

  constructor(
    readonly type: string,
    message?: string,
    status?: number,
  ) {
    super(message ?? '');
    this.name = 'KmsError';
    this.status = status ?? statusOf(type);
  }

  /** The JSON body KMS answers with. */
  body(): Record<string, string> {
    return this.message === '' ? { __type: this.type } : { __type: this.type, message: this.message };
  }
}

/**
 * The exceptions the API Reference lists with HTTP 500 (the rest, KMS's own and the common
 * AccessDeniedException, ThrottlingException and ValidationException, are 400).
 */
const SERVER_ERRORS: Readonly<Record<string, number>> = {
  KMSInternalException: 500,
  DependencyTimeoutException: 500,
  KeyUnavailableException: 500,
  InternalFailure: 500,
  ServiceUnavailable: 503,
};

export function statusOf(type: string): number {
  return SERVER_ERRORS[type] ?? 400;
}

/** `Key 'arn:…:key/…' does not exist` or `Alias arn:…:alias/… is not found.`, as KMS words them. */
export const notFound = (message: string): KmsError => new KmsError('NotFoundException', message);

export const disabled = (keyArn: string): KmsError => new KmsError('DisabledException', `${keyArn} is disabled.`);

export const pendingDeletion = (keyArn: string): KmsError => new KmsError('KMSInvalidStateException', `${keyArn} is pending deletion.`);

export const invalidState = (message: string): KmsError => new KmsError('KMSInvalidStateException', message);

/** KMS says nothing more about a ciphertext it rejects. */
export const invalidCiphertext = (): KmsError => new KmsError('InvalidCiphertextException');

export const incorrectKey = (): KmsError =>
  new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');

/** A ValidationException in AWS's words: `1 validation error detected: Value '…' at '…' failed to satisfy constraint: …`. */
export function invalidValue(value: unknown, member: string, constraint: string): KmsError {
  return new KmsError('ValidationException', `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

export const validation = (message: string): KmsError => new KmsError('ValidationException', message);
