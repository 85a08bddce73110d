import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@RequireScopes()`. */
export const KEYWARD_REQUIRED_SCOPES = 'keyward:required-scopes';

/**
 * Scopes the API key must all grant for a route. On a controller and on a handler, both sets are required.
 * A key without one is answered 403 `API_KEY_SCOPE`. On a handler it wins over `@Public()` on its
 * controller (no key: 401); only `@Public()` on the handler itself opens a handler of a scoped
 * controller. With `@Public()` on the same handler or controller the route is refused (`CONFIG_INVALID`).
 *
 * @example
 * @RequireScopes('orders:write') @Post('orders') create() {}
 */
export function RequireScopes(...scopes: string[]): MethodDecorator & ClassDecorator {
  return SetMetadata(KEYWARD_REQUIRED_SCOPES, scopes);
}
