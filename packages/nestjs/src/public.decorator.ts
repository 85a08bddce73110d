import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@Public()`. */
export const KEYWARD_PUBLIC = 'keyward:public';

/**
 * Lets a route (or every route of a controller) through `ApiKeyGuard` without a key. On a
 * controller it exempts only the handlers that declare no `@RequireScopes()`: a scoped handler still
 * needs a key with its scopes. With `@RequireScopes()` on the same handler or controller, the
 * guard refuses the route (`CONFIG_INVALID`) rather than guess which one was meant.
 *
 * @example
 * @Public() @Get('health') health() { return { ok: true }; }
 */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(KEYWARD_PUBLIC, true);
}
