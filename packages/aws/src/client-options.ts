import { KeywardError } from '@keyward/core';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/**
 * How the provider reaches Secrets Manager: a client of yours (left open by `close()`), or options
 * from which it makes its own (destroyed by `close()`).
 *
 * @example { client: new SecretsManagerClient({ region: 'eu-west-1' }) }
 * @example { region: 'eu-west-1' }                       // credentials from the default chain
 * @example { region: 'us-east-1', endpoint: emulator.endpoint, credentials: emulator.credentials }
 */
export type SecretsManagerClientChoice =
  | { readonly client: SecretsManagerClient }
  | {
      readonly client?: undefined;
      readonly region?: string;
      /** Another endpoint (a VPC endpoint, an emulator). */
      readonly endpoint?: string;
      /** Default: the SDK's default credential chain. */
      readonly credentials?: SecretsManagerClientConfig['credentials'];
      /** Attempts per call, the SDK's own retries of throttling and 5xx included (default 3). */
      readonly maxAttempts?: number;
    };

/** The client to use, and whether the provider made it (and so destroys it on close). */
export function clientFor(choice: SecretsManagerClientChoice): { client: SecretsManagerClient; owned: boolean } {
  if (choice.client !== undefined) {
    // Client options given as `client` ({ client: { region } }) would fail only at the first read, as an outage.
    if (typeof (choice.client as { send?: unknown }).send !== 'function') {
      throw new KeywardError('CONFIG_INVALID', '`client` must be a SecretsManagerClient; pass region, endpoint and credentials as options of their own instead');
    }
    return { client: choice.client, owned: false };
  }
  const client = new SecretsManagerClient({
    ...(choice.region === undefined ? {} : { region: choice.region }),
    ...(choice.endpoint === undefined ? {} : { endpoint: choice.endpoint }),
    ...(choice.credentials === undefined ? {} : { credentials: choice.credentials }),
    // The store retries too, and serves stale meanwhile: a few quick SDK attempts are enough.
    maxAttempts: choice.maxAttempts ?? 3,
  });
  return { client, owned: true };
}
