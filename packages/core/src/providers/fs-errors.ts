import { KeywardError } from '../errors/index.js';

/** ENOENT → SECRET_NOT_FOUND, EACCES/EPERM → PERMISSION_DENIED, ENXIO → SECRET_INVALID, the rest → PROVIDER_UNAVAILABLE (retried). */
export function fromFsError(err: unknown, what: string): KeywardError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new KeywardError('SECRET_NOT_FOUND', `${what} does not exist`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new KeywardError('PERMISSION_DENIED', `${what} cannot be read (${code})`, { cause: err });
  // What open() answers for a Unix socket (and a device with nothing behind it).
  if (code === 'ENXIO') return new KeywardError('SECRET_INVALID', `${what} is a socket or device, not a regular file`, { cause: err });
  return KeywardError.from(err);
}
