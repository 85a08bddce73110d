import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { VerifiedApiKey } from '@keyward/core';

/**
 * The principal `ApiKeyGuard` verified for this request (keyId, client, scopes, status), or
 * `undefined` on a `@Public()` route. Never the key itself.
 *
 * @example
 * @Get('orders') list(@ApiKeyPrincipal() principal: VerifiedApiKey) { return this.orders.of(principal.client); }
 */
export const ApiKeyPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VerifiedApiKey | undefined => context.switchToHttp().getRequest<{ apiKey?: VerifiedApiKey }>().apiKey,
);
