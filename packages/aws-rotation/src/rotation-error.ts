/**
 * What went wrong, for alarms and retries.
 *
 * @example
 * if (err instanceof RotationError && err.code === 'LOGIN_FAILED') alarm(err.secretArn);
 */
export type RotationErrorCode =
  | 'ROTATION_NOT_ENABLED'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_NOT_PENDING'
  | 'INVALID_SECRET'
  | 'LOGIN_FAILED'
  | 'USER_MISMATCH'
  | 'DATABASE_ERROR'
  | 'UNKNOWN_STEP'
  | 'SECRETS_MANAGER_ERROR';

/**
 * The one error a rotation step throws: a `code`, the secret's ARN, the step and version id, and a
 * `cause` stripped of anything that could hold a secret value (mysql2 puts the SQL text on errors).
 *
 * @example
 * try { await rotate(event); } catch (err) { if (err instanceof RotationError) console.error(err.code, err.secretArn); }
 */
export class RotationError extends Error {
  override readonly name = 'RotationError';

  constructor(
    readonly code: RotationErrorCode,
    readonly secretArn: string,
    readonly step: string,
    readonly versionId: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`${step} of ${secretArn} (version ${versionId}): ${detail}`, cause === undefined ? undefined : { cause: safeCause(cause) });
  }
}

/** A copy of a driver error with only its name, message and code: no SQL text, no parameters. */
export function safeCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const copy = new Error(err.message);
  copy.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}
