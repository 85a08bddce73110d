import {
  apiKeyChallenge,
  apiKeyDeprecationHeaders,
  apiKeyRefusalError,
  httpAnswerFor,
  KeywardError,
  noteAuditError,
  presentedApiKey,
  type ApiKeyCheck,
  type ApiKeyRefusalCode,
  type ApiKeyVerifier,
  type PresentedApiKey,
  type VerifiedApiKey,
} from '@keyward/core';
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
  /** Checks presented keys, e.g. `createApiKeyVerifier({ ring, pepper })` from `@keyward/core` (its `check` is used when there is one: no throw per refused key). */
  readonly verifier: Pick<ApiKeyVerifier, 'verify'> & Partial<Pick<ApiKeyVerifier, 'check'>>;
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
  const check = checkOf(options.verifier);
  return (req: Request, res: Response, next: NextFunction) => {
    let presented: PresentedApiKey = { key: undefined, scheme: 'none' };
    let result: ApiKeyCheck;
    try {
      presented = presentedApiKey(req.headers, headerName);
      result = check(presented.key, { scopes });
    } catch (err) {
      if (!KeywardError.is(err) || !err.code.startsWith('API_KEY_')) return next(err);
      result = { ok: false, code: err.code as ApiKeyRefusalCode };
    }
    if (result.ok) {
      req.apiKey = result.key;
      if (result.key.deprecated !== undefined) res.set(apiKeyDeprecationHeaders(result.key));
      return next();
    }
    noteAuditError(result.code); // answered here, not by keywardErrorHandler: the audit record still gets the code
    const answer = refusalAnswer(result.code);
    res.statusCode = answer.status;
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    if (answer.status === 401) res.setHeader('WWW-Authenticate', apiKeyChallenge(presented));
    res.end(answer.body);
  };
}

/** The verifier's `check`, or one made from `verify` for a verifier that has only that. */
function checkOf(verifier: RequireApiKeyOptions['verifier']): NonNullable<RequireApiKeyOptions['verifier']['check']> {
  if (typeof verifier.check === 'function') return verifier.check.bind(verifier);
  return (key, checkOptions) => {
    try {
      return { ok: true, key: verifier.verify(key, checkOptions) };
    } catch (err) {
      if (KeywardError.is(err) && err.code.startsWith('API_KEY_')) return { ok: false, code: err.code as ApiKeyRefusalCode };
      throw err;
    }
  };
}

interface RefusalAnswer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

const refusalAnswers = new Map<ApiKeyRefusalCode, RefusalAnswer>();

/** `httpAnswerFor`'s answer for a refusal, serialized once per code: the same status, headers and body as before, made once. */
function refusalAnswer(code: ApiKeyRefusalCode): RefusalAnswer {
  let answer = refusalAnswers.get(code);
  if (answer === undefined) {
    const { status, headers, body } = httpAnswerFor(apiKeyRefusalError({ ok: false, code }));
    const json = JSON.stringify(body);
    answer = {
      status,
      headers: [...Object.entries(headers), ['Content-Type', 'application/json; charset=utf-8'], ['Content-Length', String(Buffer.byteLength(json))]],
      body: json,
    };
    refusalAnswers.set(code, answer);
  }
  return answer;
}
