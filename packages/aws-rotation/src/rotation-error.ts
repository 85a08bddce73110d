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

/**
 * MySQL and MariaDB quote pieces of the statement in their messages (a syntax error shows the text
 * `near '...' at line 1`, which can hold the password being set): everything from the first quote to
 * the last becomes `'[redacted]'`.
 */
export function redactQuoted(message: string): string {
  const first = message.indexOf("'");
  if (first < 0) return message;
  const last = message.lastIndexOf("'");
  return `${message.slice(0, first)}'[redacted]'${last > first ? message.slice(last + 1) : ''}`;
}

/** mysql2 puts the server's `sqlMessage`, `errno` and `sqlState` on its errors. */
const isMysqlError = (err: Error): boolean => typeof (err as { sqlMessage?: unknown }).sqlMessage === 'string' || typeof (err as { sqlState?: unknown }).sqlState === 'string';

/**
 * A copy of a driver error with only its name, message and codes (`code`; for MySQL also `errno`
 * and `sqlState`): no SQL text, no parameters, and a MySQL message with its quotes redacted.
 */
export function safeCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const mysql = isMysqlError(err);
  const copy = new Error(mysql ? redactQuoted(err.message) : err.message);
  copy.name = err.name;
  const fields = mysql ? (['code', 'errno', 'sqlState'] as const) : (['code'] as const);
  for (const field of fields) {
    const value = (err as unknown as Record<string, unknown>)[field];
    if (value !== undefined) Object.assign(copy, { [field]: value });
  }
  return copy;
}
