import { apiKeyDeprecationHeaders, KeywardError, presentedApiKey, type ApiKeyVerifier, type VerifiedApiKey } from '@keyward/core';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PerHandler } from './per-handler.js';
import { KEYWARD_PUBLIC } from './public.decorator.js';
import { KEYWARD_REQUIRED_SCOPES } from './require-scopes.decorator.js';

/**
 * The injection token of the `ApiKeyVerifier` that `ApiKeyGuard` uses.
 * `KeywardModule.forRoot({ apiKeys: { ring, pepper } })` provides it; or provide it yourself:
 *
 * @example
 * {
 *   provide: KEYWARD_API_KEY_VERIFIER,
 *   inject: [SecretStore],
 *   useFactory: (store: SecretStore) =>
 *     createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() }),
 * }
 */
export const KEYWARD_API_KEY_VERIFIER = 'KEYWARD_API_KEY_VERIFIER';

interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
  apiKey?: VerifiedApiKey;
}

/**
 * Requires a valid API key from `X-API-Key` or `Authorization: Bearer <key>` on every route but
 * `@Public()` ones, with the scopes of `@RequireScopes(...)` (the controller's and the handler's).
 * The handler's metadata is read first, then the controller's: `@Public()` on a handler lets it
 * through whatever its controller requires, while `@Public()` on a controller exempts only the
 * handlers that declare no scopes, so a scoped handler is never opened by its class. `@Public()`
 * and `@RequireScopes()` together on one handler (or one controller) is refused with
 * `CONFIG_INVALID` (500) naming the route, on every request: guessing either intent could open a
 * route or lock clients out unnoticed. The principal goes on `req.apiKey`
 * (read it with `@ApiKeyPrincipal()`); a previous key in its grace gets `Deprecation: @<seconds>`
 * (RFC 9745) and `Sunset: <HTTP-date>` (RFC 8594) response headers. Failures are thrown as Keyward errors: register
 * `KeywardExceptionFilter`, which answers 401 with `WWW-Authenticate: ApiKey realm="keyward"`
 * (plus a `Bearer … error="invalid_token"` challenge when the key came as a bearer token, as
 * Express's `requireApiKey` does), or 403 for a missing scope, and a fixed body.
 *
 * @example
 * providers: [
 *   { provide: KEYWARD_API_KEY_VERIFIER, useFactory: () => createApiKeyVerifier({ ring, pepper }) },
 *   { provide: APP_GUARD, useClass: ApiKeyGuard },
 *   { provide: APP_FILTER, useClass: KeywardExceptionFilter },
 * ]
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** Whether each route is public and the scopes it requires, read from its decorators once. */
  readonly #routes = new PerHandler<RouteRule>((controller, handler) => {
    const onHandler = declared(this.reflector, handler, `${controller.name}.${handler.name}`);
    const onController = declared(this.reflector, controller, controller.name);
    const isPublic = onHandler.isPublic || (onController.isPublic && onHandler.scopes === undefined);
    return { isPublic, scopes: isPublic ? [] : [...new Set([...(onController.scopes ?? []), ...(onHandler.scopes ?? [])])] };
  });

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(KEYWARD_API_KEY_VERIFIER) private readonly verifier: Pick<ApiKeyVerifier, 'verify'>,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, scopes } = this.#routes.of(context);
    if (isPublic) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const principal = this.verifier.verify(presentedApiKey(request.headers).key, { scopes });
    request.apiKey = principal;
    for (const [name, value] of Object.entries(apiKeyDeprecationHeaders(principal))) setHeader(http.getResponse(), name, value);
    return true;
  }
}

interface RouteRule {
  readonly isPublic: boolean;
  readonly scopes: readonly string[];
}

/** What `@Public()` and `@RequireScopes()` declare on the handler or controller itself; both at once is refused. */
function declared(reflector: Reflector, target: ReturnType<ExecutionContext['getHandler']>, route: string): { isPublic: boolean; scopes: string[] | undefined } {
  const isPublic = reflector.get<boolean | undefined>(KEYWARD_PUBLIC, target) === true;
  const scopes = reflector.get<string[] | undefined>(KEYWARD_REQUIRED_SCOPES, target);
  if (isPublic && scopes !== undefined) {
    throw new KeywardError('CONFIG_INVALID', `${route} is both @Public() and @RequireScopes(${scopes.join(', ')}): remove one`);
  }
  return { isPublic, scopes };
}

/** Express (`setHeader`) or Fastify (`header`). */
function setHeader(response: unknown, name: string, value: string): void {
  const res = response as { setHeader?: (n: string, v: string) => void; header?: (n: string, v: string) => void };
  if (typeof res.setHeader === 'function') res.setHeader(name, value);
  else res.header?.(name, value);
}
