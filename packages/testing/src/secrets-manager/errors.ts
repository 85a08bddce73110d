/** An AWS JSON-protocol error answer: `{"__type": type, "message": ...}` with its HTTP status. */
export class SecretsManagerError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SecretsManagerError';
  }
}

/** Exceptions AWS answers with HTTP 500; everything else is a client error (400). */
const SERVER_ERRORS = new Set(['InternalServiceError', 'InternalFailure', 'ServiceUnavailable']);

export function statusOf(type: string): number {
  return SERVER_ERRORS.has(type) ? 500 : 400;
}

export const secretNotFound = (): SecretsManagerError =>
  new SecretsManagerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

export const invalidParameter = (message: string): SecretsManagerError => new SecretsManagerError('InvalidParameterException', message);

export const invalidRequest = (message: string): SecretsManagerError => new SecretsManagerError('InvalidRequestException', message);

export const markedForDeletion = (): SecretsManagerError =>
  invalidRequest("You can't perform this operation on the secret because it was marked for deletion.");
