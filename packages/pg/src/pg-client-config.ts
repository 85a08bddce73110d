import { KeywardError } from '@keyward/core';
import type pg from 'pg';
import { pgLogin, type PgCredentials, type PgLogin } from './pg-credentials.js';
import type { PgConnectionOptions } from './pg-connection-options.js';

/**
 * The `pg.ClientConfig` of one session: the connection settings with the secret's login (in the
 * connection string too, when there is one) and the session's `application_name`. Shared by the
 * pool's driver and `knexConnection`, so that both log in the same way.
 */
export function pgClientConfig(options: PgConnectionOptions, credentials: PgCredentials): pg.ClientConfig {
  const { applicationName, connectionString, ...base } = options;
  const login = pgLogin(credentials);
  const session = { user: login.user, version: credentials.version };
  const application_name = typeof applicationName === 'function' ? applicationName(session) : (applicationName ?? base.application_name);
  return {
    ...base,
    ...login,
    ...(connectionString === undefined ? {} : { connectionString: withLogin(connectionString, login) }),
    ...(application_name === undefined ? {} : { application_name }),
  };
}

/** Refuses a connection string that is neither a URL nor a socket path, without quoting it (it may hold a password). */
export function checkConnectionString(connectionString: string): void {
  if (connectionString.startsWith('/')) return;
  try {
    new URL(connectionString);
  } catch {
    throw new KeywardError('CONFIG_INVALID', 'connectionString is not a URL like postgresql://host:5432/database');
  }
}

/**
 * The connection string with the secret's login in it. node-postgres lets what a connection
 * string says win over the config's fields, and its query parameters over its user info.
 */
function withLogin(connectionString: string, login: PgLogin): string {
  // "/socket/dir database" carries no login: the config's fields give it.
  if (connectionString.startsWith('/')) return connectionString;
  const url = new URL(connectionString);
  url.username = '';
  url.password = '';
  url.searchParams.set('user', login.user);
  url.searchParams.set('password', login.password);
  return url.toString();
}
