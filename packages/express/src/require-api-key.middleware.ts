import { apiKeyChallenge, apiKeyDeprecationHeaders, httpAnswerFor, KeywardError, noteAuditError, presentedApiKey, type ApiKeyVerifier, type PresentedApiKey, type VerifiedApiKey } from '@keyward/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

// Kept exported from here too, where they were first offered.
export { API_KEY_CHALLENGE, MAX_API_KEY_HEADER_LENGTH } from '@keyward/core';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified API key's principal (keyId, client, scopes, status), put there by `requireApiKey()`. Never the key. */
      apiKey?: VerifiedApiKey;
    }
  }
}

/**
 * Options of `requireApiKey()`: the verifier, the scopes a route needs, and the header the key is read from.
 */
export interface RequireApiKeyOptions {
  /** Checks presented keys, e.g. `createApiKeyVerifier({ ring, pepper })` from `@keyward/core`. */
  readonly verifier: Pick<ApiKeyVerifier, 'verify'>;
  /** Scopes the key must all grant; a key without one is answered 403 `API_KEY_SCOPE`. */
  readonly scopes?: readonly string[];
  /** The header the key is read from (default `x-api-key`); `Authorization: Bearer <key>` is read when it is absent. */
  readonly header?: string;
}

/**
 * Requires a valid API key on the request, from `X-API-Key` (or `options.header`) or from
 * `Authorization: Bearer <key>`. On success the principal is `req.apiKey`; a previous key still in
 * its grace gets `Deprecation: @<seconds>` (RFC 9745: when it was replaced) and
 * `Sunset: <HTTP-date>` (RFC 8594: when its grace ends) response headers.
 *
 * Failures are answered here, whatever error handlers the app has: 401 with
 * `WWW-Authenticate: ApiKey realm="keyward"` (plus a `Bearer … error="invalid_token"` challenge
 * when the key came as a bearer token), 403 for a missing scope, and the body of `httpAnswerFor`:
 * a stable code and a fixed message that never quotes the presented value. Any other error (e.g.
 * an invalid ring) goes to `next(err)`, for `keywardErrorHandler()`. Under `auditRequests()`, the
 * request's audit record names the key (`{ type: 'api-key', id: keyId, client }`) or the refusal's code.
 *
 * @example
 * const verifier = createApiKeyVerifier({ ring: () => parseKeyRing(store.get('apiKeyRing').reveal()), pepper: () => store.get('apiKeyPepper').reveal() });
 * app.post('/orders', requireApiKey({ verifier, scopes: ['orders:write'] }), (req, res) => res.json({ client: req.apiKey!.client }));
 */
export function requireApiKey(options: RequireApiKeyOptions): RequestHandler {
  const headerName = (options.header ?? 'x-api-key').toLowerCase();
  const scopes = options.scopes ?? [];
  return (req: Request, res: Response, next: NextFunction) => {
    let presented: PresentedApiKey = { key: undefined, scheme: 'none' };
    try {
      presented = presentedApiKey(req.headers, headerName);
      const principal = options.verifier.verify(presented.key, { scopes });
      req.apiKey = principal;
      res.set(apiKeyDeprecationHeaders(principal));
    } catch (err) {
      if (!KeywardError.is(err) || !err.code.startsWith('API_KEY_')) return next(err);
      noteAuditError(err.code); // answered here, not by keywardErrorHandler: the audit record still gets the code
      const { status, headers, body } = httpAnswerFor(err);
      res.status(status).set(headers);
      if (status === 401) res.set('WWW-Authenticate', apiKeyChallenge(presented));
      res.json(body);
      return;
    }
    next();
  };
}
