import { httpAnswerFor, KeywardError, type ApiKeyVerifier, type VerifiedApiKey } from '@keyward/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified API key's principal (keyId, client, scopes, status), put there by `requireApiKey()`. Never the key. */
      apiKey?: VerifiedApiKey;
    }
  }
}

export interface RequireApiKeyOptions {
  /** Checks presented keys, e.g. `createApiKeyVerifier({ ring, pepper })` from `@keyward/core`. */
  readonly verifier: Pick<ApiKeyVerifier, 'verify'>;
  /** Scopes the key must all grant; a key without one is answered 403 `API_KEY_SCOPE`. */
  readonly scopes?: readonly string[];
  /** The header the key is read from (default `x-api-key`); `Authorization: Bearer <key>` is read when it is absent. */
  readonly header?: string;
}

/** Header values longer than this are refused as `API_KEY_MALFORMED` without being parsed. */
export const MAX_API_KEY_HEADER_LENGTH = 1024;

/** The challenge sent with every 401. */
export const API_KEY_CHALLENGE = 'ApiKey realm="keyward"';

type Presented = { readonly key: string | undefined; readonly scheme: 'header' | 'bearer' | 'none' };

/**
 * Requires a valid API key on the request, from `X-API-Key` (or `options.header`) or from
 * `Authorization: Bearer <key>`. On success the principal is `req.apiKey`; a previous key still in
 * its grace gets `Deprecation: true` and `Sunset: <HTTP-date>` response headers (the
 * `Deprecation: true` form of draft-ietf-httpapi-deprecation-header: the principal carries the
 * sunset, not the moment of deprecation that the RFC 9745 `@<seconds>` form needs).
 *
 * Failures are answered here, whatever error handlers the app has: 401 with
 * `WWW-Authenticate: ApiKey realm="keyward"` (plus a `Bearer … error="invalid_token"` challenge
 * when the key came as a bearer token), 403 for a missing scope, and the body of `httpAnswerFor`:
 * a stable code and a fixed message that never quotes the presented value. Any other error (e.g.
 * an invalid ring) goes to `next(err)`, for `keywardErrorHandler()`.
 *
 * @example
 * const verifier = createApiKeyVerifier({ ring: () => parseKeyRing(store.get('apiKeyRing').reveal()), pepper: () => store.get('apiKeyPepper').reveal() });
 * app.post('/orders', requireApiKey({ verifier, scopes: ['orders:write'] }), (req, res) => res.json({ client: req.apiKey!.client }));
 */
export function requireApiKey(options: RequireApiKeyOptions): RequestHandler {
  const headerName = (options.header ?? 'x-api-key').toLowerCase();
  const scopes = options.scopes ?? [];
  return (req: Request, res: Response, next: NextFunction) => {
    let presented: Presented = { key: undefined, scheme: 'none' };
    try {
      presented = presentedKey(req, headerName);
      const principal = options.verifier.verify(presented.key, { scopes });
      req.apiKey = principal;
      if (principal.deprecated !== undefined) {
        res.set('Deprecation', 'true');
        res.set('Sunset', principal.deprecated.sunset.toUTCString());
      }
    } catch (err) {
      if (!(err instanceof KeywardError) || !err.code.startsWith('API_KEY_')) return next(err);
      const { status, headers, body } = httpAnswerFor(err);
      res.status(status).set(headers);
      if (status === 401) res.set('WWW-Authenticate', challengeFor(presented));
      res.json(body);
      return;
    }
    next();
  };
}

function presentedKey(req: Request, headerName: string): Presented {
  const own = req.headers[headerName];
  if (own !== undefined) return { key: checked(Array.isArray(own) ? own.join(', ') : own), scheme: 'header' };
  const authorization = req.headers.authorization;
  if (authorization === undefined) return { key: undefined, scheme: 'none' };
  const value = checked(authorization);
  const space = value.indexOf(' ');
  // Another scheme (Basic, Digest…) is not an API key: answered as a missing key.
  if (space === -1 || value.slice(0, space).toLowerCase() !== 'bearer') return { key: undefined, scheme: 'none' };
  return { key: value.slice(space + 1).trim(), scheme: 'bearer' };
}

function checked(value: string): string {
  if (value.length > MAX_API_KEY_HEADER_LENGTH) throw new KeywardError('API_KEY_MALFORMED', 'the API key is malformed');
  return value;
}

function challengeFor(presented: Presented): string {
  if (presented.scheme !== 'bearer') return API_KEY_CHALLENGE;
  return `${API_KEY_CHALLENGE}, Bearer realm="keyward", error="invalid_token"`;
}
