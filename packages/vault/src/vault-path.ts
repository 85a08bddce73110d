import { KeywardError, type KeywardErrorOptions } from '@keyward/core';

/** A mount or path without slashes around it (`/secret/` → `secret`). */
export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/**
 * Each segment URL-encoded, slashes around the path dropped: `/billing/prod db/` → `billing/prod%20db`.
 * A `.`, `..` or empty segment is CONFIG_INVALID: URL normalisation resolves dot segments (encoded
 * or not), so `billing/../../sys/...` would leave the mount, and `a//b` would name another secret.
 *
 * @example encodePath(ref.path, 'path', { secret: ref.name })
 */
export function encodePath(path: string, what = 'Vault path', where: KeywardErrorOptions = {}): string {
  const trimmed = trimSlashes(path);
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  const bad = segments.find((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad !== undefined) {
    const which = bad === '' ? 'an empty segment (//)' : `a "${bad}" segment`;
    throw new KeywardError('CONFIG_INVALID', `${what} "${path}" has ${which}, which Vault would resolve to another path; name every segment`, where);
  }
  return segments.map(encodeURIComponent).join('/');
}
