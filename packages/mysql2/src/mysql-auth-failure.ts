/**
 * MySQL/MariaDB error numbers that mean "these credentials were refused", so new credentials may
 * help: 1045 ER_ACCESS_DENIED_ERROR (wrong password, unknown or dropped user), 1698
 * ER_ACCESS_DENIED_NO_PASSWORD_ERROR (MySQL: the account's plugin refused the login) and 1862
 * ER_MUST_CHANGE_PASSWORD_LOGIN (the password expired).
 *
 * Not 1044 ER_DBACCESS_DENIED_ERROR: the login worked and the account lacks rights on the
 * database. That is a grant to fix, not a rotation to catch up with, and counting it would read
 * the secret again on every checkout while the grant is missing.
 */
export const MYSQL_AUTH_FAILURE_ERRNOS: readonly number[] = [1045, 1698, 1862];

/**
 * Whether a mysql2 error means the server refused the credentials (see MYSQL_AUTH_FAILURE_ERRNOS).
 *
 * @example
 * try { await pool.query('SELECT 1'); } catch (err) { if (isMysqlAuthFailure(err)) alert('database login refused'); }
 */
export function isMysqlAuthFailure(err: unknown): boolean {
  const errno = typeof err === 'object' && err !== null ? (err as { errno?: unknown }).errno : undefined;
  return typeof errno === 'number' && MYSQL_AUTH_FAILURE_ERRNOS.includes(errno);
}
