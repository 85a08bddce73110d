import { KeywardError } from '@keyward/core';

/**
 * The credentials a pool logs in with, as a secret holds them: `{ username, password }` (Vault's
 * database engine, AWS Secrets Manager) or `{ user, password }` (node-postgres' own names).
 *
 * @example store.get('database').reveal() // { username: 'v-app-x1', password: '…' }
 */
export interface PgCredentials {
  readonly username?: string | undefined;
  readonly user?: string | undefined;
  readonly password: string;
  /**
   * The secret's version, when known: `KeywardPgPool` fills it in, so that `applicationName`
   * can name each generation's sessions (`keyward-v3`). Never part of the login.
   */
  readonly version?: string | undefined;
}

/** A login as node-postgres takes it. */
export interface PgLogin {
  readonly user: string;
  readonly password: string;
}

/**
 * The user and password in `credentials`, whichever of the two shapes it has. Throws
 * SECRET_INVALID (naming the keys present, never a value) for anything else.
 *
 * @example pgLogin({ username: 'app', password: 'pw' }) // { user: 'app', password: 'pw' }
 */
export function pgLogin(credentials: unknown): PgLogin {
  if (credentials === null || typeof credentials !== 'object') {
    throw new KeywardError('SECRET_INVALID', `database credentials must be an object with username (or user) and password (got a ${credentials === null ? 'null' : typeof credentials})`);
  }
  const { username, user, password } = credentials as Record<string, unknown>;
  const name = username ?? user;
  if (typeof name !== 'string' || name === '' || typeof password !== 'string') {
    const keys = Object.keys(credentials).join(', ') || 'none';
    throw new KeywardError('SECRET_INVALID', `database credentials need a string username (or user) and a string password (keys present: ${keys})`);
  }
  return { user: name, password };
}
