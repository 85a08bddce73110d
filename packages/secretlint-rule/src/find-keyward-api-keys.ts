import { isKeywardError, parseApiKey } from '@keyward/core';

/** One Keyward API key found in a text: what it says about itself, and where it is. Never the key. */
export interface FoundApiKey {
  /** The key's lookup id (not secret): revoke the key by it. */
  readonly keyId: string;
  /** The environment the key was issued for, e.g. `live`. */
  readonly env: string;
  /** Offset of the key's first character in the text (UTF-16 code units, as `String#slice`). */
  readonly start: number;
  /** Offset just past the key's last character. */
  readonly end: number;
}

/**
 * The shape of `kw_<env>_<keyId>_<secret><checksum>` (see `generateApiKey`), standing alone: not
 * preceded or followed by a letter, digit or `_`, so that a key inside a longer token is not one.
 * A JSON or shell escape (`\n`, `\t`) just before it still counts as a boundary.
 * Bounded quantifiers only: no backtracking blow-up on hostile text.
 */
const CANDIDATE = /(?:(?<=\\[nrtbf])|(?<![0-9A-Za-z_]))kw_[a-z0-9]{1,16}_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}(?![0-9A-Za-z_])/g;

/**
 * Every Keyward API key in `text`, in order: strings with the key's shape whose checksum holds,
 * so random text of the same shape (1 chance in 5·10^10 each) and a key with a typo are not
 * reported. Works on any text: source, JSON, YAML, `.env` lines, URLs (`?api_key=kw_...`).
 *
 * @example
 * for (const { keyId, env, start } of findKeywardApiKeys(readFileSync('.env', 'utf8'))) {
 *   console.log(`Keyward API key ${keyId} (env ${env}) at offset ${start}`);
 * }
 */
export function findKeywardApiKeys(text: string): FoundApiKey[] {
  const found: FoundApiKey[] = [];
  for (const match of text.matchAll(CANDIDATE)) {
    const start = match.index;
    const end = start + match[0].length;
    try {
      const { keyId, env } = parseApiKey(match[0]);
      found.push({ keyId, env, start, end });
    } catch (err) {
      // A failed checksum: a typo or random text, not a key.
      if (!isKeywardError(err, 'API_KEY_MALFORMED')) throw err;
    }
  }
  return found;
}
