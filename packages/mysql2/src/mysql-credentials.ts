import { KeywardError } from '@keyward/core';

/**
 * A MySQL login as a secret holds it: `{ username, password }` (Vault dynamic credentials, AWS
 * Secrets Manager) or `{ user, password }` (mysql2's own option names).
 *
 * @example
 * const login: MysqlCredentials = store.get('database').reveal() as MysqlCredentials;
 */
export type MysqlCredentials =
  | { readonly username: string; readonly password: string }
  | { readonly user: string; readonly password: string };

/**
 * The `user` and `password` mysql2 wants, from either shape. Throws SECRET_INVALID naming the
 * missing field, never a value.
 *
 * @example mysqlLogin({ username: 'app', password: 's3cret' }) // { user: 'app', password: 's3cret' }
 */
export function mysqlLogin(credentials: MysqlCredentials): { user: string; password: string } {
  const value = credentials as Partial<Record<'username' | 'user' | 'password', unknown>> | null;
  const user = value?.username ?? value?.user;
  if (typeof user !== 'string' || user === '') {
    throw new KeywardError('SECRET_INVALID', 'MySQL credentials need a `username` (or `user`) string');
  }
  if (typeof value?.password !== 'string') {
    throw new KeywardError('SECRET_INVALID', 'MySQL credentials need a `password` string');
  }
  return { user, password: value.password };
}
