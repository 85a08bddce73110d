import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@RequireScopes()`. */
export const KEYWARD_REQUIRED_SCOPES = 'keyward:required-scopes';

/**
 * Scopes the API key must all grant for a route. On a controller and on a handler, both sets are required.
 * A key without one is answered 403 `API_KEY_SCOPE`.
 *
 * @example
 * @RequireScopes('orders:write') @Post('orders') create() {}
 */
export function RequireScopes(...scopes: string[]): MethodDecorator & ClassDecorator {
  return SetMetadata(KEYWARD_REQUIRED_SCOPES, scopes);
}
