import type { DatabaseSecret } from '@keyward/aws-rotation';

/** A real database the scenarios rotate users of. */
export interface DatabaseTarget {
  readonly engine: 'postgres' | 'mysql';
  /** The admin secret's value (the `masterarn` of alternating users). */
  readonly master: DatabaseSecret;
  /** Makes a login user that may read the target's table; returns its secret value. */
  createUser(name: string, password: string): Promise<DatabaseSecret>;
  /** `ok`: logged in and read the table; `refused`: the database refused the login. Any other error is thrown. */
  login(secret: DatabaseSecret): Promise<'ok' | 'refused'>;
  /**
   * What the database server logged so far, every statement included, when the target can show it
   * (PostgreSQL: `log_statement = all` for every session but the setup one).
   */
  serverLog?(): Promise<string>;
  /** Drops the users made here (and their clones) and stops what was started. */
  dispose(): Promise<void>;
}

/** `refused` when `open` fails with the engine's wrong-password error code, else `ok` once `read` worked. */
export async function readAs<C>(
  open: () => Promise<C>,
  refusedCode: string,
  read: (connection: C) => Promise<unknown>,
  close: (connection: C) => Promise<unknown>,
): Promise<'ok' | 'refused'> {
  let connection: C;
  try {
    connection = await open();
  } catch (err) {
    if ((err as { code?: string }).code === refusedCode) return 'refused';
    throw err;
  }
  try {
    await read(connection);
    return 'ok';
  } finally {
    await close(connection);
  }
}
