/**
 * The AWS standard JSON of a database secret (the shape RDS and the AWS rotation templates use).
 * `masterarn` names the admin secret the alternating-users strategy logs in with.
 *
 * @example
 * const secret: DatabaseSecret = { engine: 'postgres', host: 'db', port: 5432, username: 'app', password: '...', dbname: 'app' };
 */
export interface DatabaseSecret {
  engine?: string;
  host: string;
  port?: number;
  username: string;
  password: string;
  dbname?: string;
  masterarn?: string;
  /** Other fields are kept as they are when a new version is written. */
  [field: string]: unknown;
}

/**
 * Parses a SecretString into a {@link DatabaseSecret}; the message never quotes the value.
 *
 * @example
 * const secret = parseDatabaseSecret(response.SecretString); // throws on missing host/username/password
 */
export function parseDatabaseSecret(text: string | undefined): DatabaseSecret {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new TypeError('the secret value is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('the secret value is not a JSON object');
  const secret = parsed as Record<string, unknown>;
  for (const field of ['host', 'username', 'password'] as const) {
    if (typeof secret[field] !== 'string' || secret[field] === '') throw new TypeError(`the secret has no "${field}" string`);
  }
  if (secret['port'] !== undefined) {
    const port = Number(secret['port']);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new TypeError('the secret\'s "port" is not a port number');
    secret['port'] = port;
  }
  return secret as DatabaseSecret;
}
