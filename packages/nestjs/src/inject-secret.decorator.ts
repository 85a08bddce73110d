import { Inject } from '@nestjs/common';
import { getSecretToken } from './secret-token.js';

/**
 * Injects a `SecretRef` for a declared secret: a live handle that always reads the current value,
 * never a copy that goes stale after a rotation. A name the store does not declare fails the
 * bootstrap with `SECRET_NOT_DECLARED`.
 *
 * @example
 * @Injectable()
 * class Mailer {
 *   constructor(@InjectSecret('smtpPassword') private readonly smtpPassword: SecretRef<string>) {}
 * }
 */
export function InjectSecret(name: string): PropertyDecorator & ParameterDecorator {
  return Inject(getSecretToken(name));
}
