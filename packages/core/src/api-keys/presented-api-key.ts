import { KeywardError } from '../errors/index.js';

/** Header values longer than this are refused as `API_KEY_MALFORMED` without being parsed. */
export const MAX_API_KEY_HEADER_LENGTH = 1024;

/** The challenge sent with every 401 for an API key. */
export const API_KEY_CHALLENGE = 'ApiKey realm="keyward"';

/** The key a request presented, and how: its own header, a bearer token, or nothing usable. */
export interface PresentedApiKey {
  readonly key: string | undefined;
  readonly scheme: 'header' | 'bearer' | 'none';
}

/**
 * Finds the API key in request headers (lower-case names, as Node gives them): `headerName`
 * (default `x-api-key`), else `Authorization: Bearer <key>`. Another scheme (Basic, Digest…) is
 * no API key. A value over `MAX_API_KEY_HEADER_LENGTH` is API_KEY_MALFORMED, unread.
 *
 * @example presentedApiKey(req.headers)            // { key: 'kw_live_…', scheme: 'header' }
 */
export function presentedApiKey(headers: Readonly<Record<string, string | string[] | undefined>>, headerName = 'x-api-key'): PresentedApiKey {
  const own = headers[headerName.toLowerCase()];
  if (own !== undefined) return { key: bounded(own), scheme: 'header' };
  const authorization = headers['authorization'];
  if (authorization === undefined) return { key: undefined, scheme: 'none' };
  const value = bounded(authorization);
  const space = value.indexOf(' ');
  if (space === -1 || value.slice(0, space).toLowerCase() !== 'bearer') return { key: undefined, scheme: 'none' };
  return { key: value.slice(space + 1).trim(), scheme: 'bearer' };
}

/**
 * The response headers for a key accepted in its grace: RFC 9745 `Deprecation: @<epoch seconds>`
 * (the moment it was replaced) and RFC 8594 `Sunset: <HTTP-date>` (the end of its grace). A ring
 * entry written before rotations recorded their time gives the draft's `Deprecation: true`.
 * Empty for a current key.
 *
 * @example for (const [name, value] of Object.entries(apiKeyDeprecationHeaders(principal))) res.setHeader(name, value);
 */
export function apiKeyDeprecationHeaders(principal: { readonly deprecated?: { readonly sunset: Date; readonly since?: Date } }): Record<string, string> {
  const deprecated = principal.deprecated;
  if (deprecated === undefined) return {};
  const since = deprecated.since === undefined ? 'true' : `@${Math.floor(deprecated.since.getTime() / 1000)}`;
  return { Deprecation: since, Sunset: deprecated.sunset.toUTCString() };
}

/** The `WWW-Authenticate` value for a refused key presented this way. */
export function apiKeyChallenge(presented: PresentedApiKey): string {
  return presented.scheme === 'bearer' ? `${API_KEY_CHALLENGE}, Bearer realm="keyward", error="invalid_token"` : API_KEY_CHALLENGE;
}

function bounded(value: string | string[]): string {
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (text.length > MAX_API_KEY_HEADER_LENGTH) throw new KeywardError('API_KEY_MALFORMED', 'the API key is malformed');
  return text;
}
