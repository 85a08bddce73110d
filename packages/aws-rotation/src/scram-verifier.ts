import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(pbkdf2);

/** PostgreSQL's default `scram_iterations`. */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * Why PostgreSQL could disagree with us about `password`, if it could. PostgreSQL runs SASLprep
 * (RFC 4013) on a password before hashing it, but leaves pure ASCII untouched; we do not implement
 * SASLprep, so we only hash passwords that it would leave as they are: ASCII without NUL.
 */
export function scramPasswordProblem(password: string): string | undefined {
  if (password === '') return 'the password is empty';
  if (!/^[\x01-\x7f]+$/.test(password)) {
    return 'the password has characters outside ASCII (or NUL), which PostgreSQL would SASLprep-normalise before hashing: use an ASCII password';
  }
  return undefined;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / RFC 7677, PostgreSQL's
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64). Given to
 * `ALTER ROLE ... PASSWORD`, it is stored as is, so the password never reaches the server, its
 * statement log or its error messages.
 */
export async function scramVerifier(password: string, iterations = SCRAM_ITERATIONS, salt: Buffer = randomBytes(SALT_BYTES)): Promise<string> {
  const problem = scramPasswordProblem(password);
  if (problem) throw new TypeError(problem);
  const salted = await derive(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
