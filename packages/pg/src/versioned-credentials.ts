import { Secret, type CredentialSource, type SecretRotatedEvent } from '@keyward/core';
import type { PgCredentials } from './pg-credentials.js';

/**
 * The same credentials, each value carrying its secret's `version`, so that the driver can name
 * a generation's sessions after it. Rotation events keep their `previous` version and `hold()`.
 */
export function versionedCredentials(source: CredentialSource<unknown>): CredentialSource<PgCredentials> {
  return {
    current: () => withVersion(source.current()),
    onRotated: (listener) =>
      source.onRotated((event) => {
        const versioned: SecretRotatedEvent = { ...event, current: withVersion(event.current) };
        listener(versioned);
      }),
    refresh: () => source.refresh(),
  };
}

function withVersion(secret: Secret<unknown>): Secret<PgCredentials> {
  const value = secret.reveal();
  // Not an object: left as it is, for the driver to refuse with SECRET_INVALID.
  if (value === null || typeof value !== 'object') return secret as Secret<PgCredentials>;
  return new Secret(secret.name, { ...(value as PgCredentials), version: secret.version }, { version: secret.version, fetchedAt: secret.fetchedAt, lease: secret.lease });
}
