import { KeywardError } from '../errors/index.js';
import { toEnvName, valueFromVariables } from './naming.js';
import type { SecretProvider, SecretRef } from './secret-provider.js';

/** Options of `envProvider()`: where the variables come from and how secret names map to them. */
export interface EnvProviderOptions {
  /** The variables to read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>;
  /** Declared name → variable name (default: `stripeKey` → `STRIPE_KEY`). */
  readonly mapName?: (ref: SecretRef) => string;
}

/**
 * Reads secrets from environment variables: `DATABASE_URL` for a string, or
 * `DATABASE__USERNAME` + `DATABASE__PASSWORD` for `{ username, password }`.
 *
 * @example
 * createSecretStore({ app: 'billing', providers: { test: envProvider() }, secrets: { databaseUrl: {} } });
 */
export function envProvider(options: EnvProviderOptions = {}): SecretProvider {
  const mapName = options.mapName ?? ((ref: SecretRef) => toEnvName(ref.name));
  return {
    kind: 'env',
    locate: (ref) => `env ${mapName(ref)}`,
    async read(ref) {
      const varName = mapName(ref);
      const value = valueFromVariables(options.env ?? process.env, varName);
      if (value === undefined) {
        throw new KeywardError('SECRET_NOT_FOUND', `environment variable ${varName} (or ${varName}__<KEY>) is not set`);
      }
      return { value };
    },
  };
}
