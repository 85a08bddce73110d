import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@Public()`. */
export const KEYWARD_PUBLIC = 'keyward:public';

/**
 * Lets a route (or every route of a controller) through `ApiKeyGuard` without a key.
 *
 * @example
 * @Public() @Get('health') health() { return { ok: true }; }
 */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(KEYWARD_PUBLIC, true);
}
