import { SetMetadata } from '@nestjs/common';

/** The metadata key `@OnSecretRotated()` sets: the names of the secrets whose rotations the method receives. */
export const KEYWARD_ON_SECRET_ROTATED = 'keyward:onSecretRotated';

/**
 * Calls the method with the store's `rotated` event (`name`, `previous`, `current`, `reason`,
 * `hold()`) whenever one of the named secrets rotates, on any provider or controller of the app.
 * A name the store does not declare fails the bootstrap with `SECRET_NOT_DECLARED`. An error
 * the method throws (or its promise rejects with) is logged by name and code, never thrown into
 * the store. To keep the previous value's lease while the method still uses it, call
 * `event.hold()` and the function it returns when done.
 *
 * @example
 * @Injectable()
 * class PartnerWebhooks {
 *   @OnSecretRotated('partnerSigningKey')
 *   resign(event: SecretRotatedEvent) { this.signer = new Signer(event.current.reveal()); }
 * }
 */
export function OnSecretRotated(...names: [string, ...string[]]): MethodDecorator {
  return SetMetadata(KEYWARD_ON_SECRET_ROTATED, names);
}
