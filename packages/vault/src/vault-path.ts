import { KeywardError, type KeywardErrorOptions, type SecretRef } from '@keyward/core';

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

// Vault's name pattern for roles (framework.GenericNameRegex).
const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;

/**
 * `role` if it is a Vault role name, else CONFIG_INVALID with `hint` (what to give instead).
 *
 * @example checkedRoleName(role, "give vaultPkiCertificate the `role` to issue under (e.g. role: 'web')")
 */
export function checkedRoleName(role: unknown, hint: string): string {
  if (typeof role !== 'string' || !ROLE_NAME.test(role)) throw new KeywardError('CONFIG_INVALID', `"${String(role)}" is not a Vault role name; ${hint}`);
  return role;
}

/**
 * A role-based provider's `locate()`: `vault <mount>/<verb>/<role>`, or `…/? (path …)` when the
 * secret's role is no role name (the start-up error then says why).
 */
export function locateRole(mount: string, verb: string, roleOf: (ref: SecretRef) => string): (ref: SecretRef) => string {
  return (ref) => {
    try {
      return `vault ${mount}/${verb}/${roleOf(ref)}`;
    } catch {
      return `vault ${mount}/${verb}/? (path ${ref.path})`;
    }
  };
}
