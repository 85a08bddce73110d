import type { RefreshPolicy, SecretDeclarations } from '../declarations/index.js';
import { KeywardError } from '../errors/index.js';
import type { SecretProvider } from '../providers/index.js';
import type { Duration } from '../util/index.js';
import type { RefreshScheduler } from './refresh-scheduler.js';
import type { SecretAccessEvent } from './store-events.js';

/** One provider for every secret, or providers by name (`{ default: vault, aws: awsProvider }`). */
export type ProviderSet = SecretProvider | Readonly<Record<string, SecretProvider>>;

/**
 * Providers per environment; `'*'` serves environments not listed.
 *
 * @example { development: dotenvProvider(), test: envProvider(), '*': vaultKv }
 */
export type ProvidersByEnvironment = Readonly<Record<string, ProviderSet>>;

/**
 * What `new SecretStore()` needs: the app, its secrets, the providers per environment, and the
 * freshness settings. Checked synchronously (`CONFIG_INVALID`).
 *
 * @example
 * new SecretStore({ app: 'billing', secrets: { database: {} }, providers: { production: vaultKv({ connection }), development: envProvider() } });
 */
export interface SecretStoreOptions<D extends SecretDeclarations = SecretDeclarations> {
  /** The app's name: `{app}` in path templates. */
  readonly app: string;
  /** Chooses the providers and fills `{env}` (default `NODE_ENV`, else `development`). */
  readonly environment?: string | undefined;
  readonly providers: ProvidersByEnvironment;
  readonly secrets: D;
  /** Default path template (default `{app}/{env}/{name}`). */
  readonly pathTemplate?: string;
  /** More placeholders for path templates, e.g. `{ team: 'payments' }` for `{team}`. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Reads at once during bootstrap (default 16). */
  readonly concurrency?: number;
  /** Time allowed for one read (default `'10s'`). */
  readonly readTimeout?: Duration;
  /** Retries of a retryable failure during bootstrap (default 2). */
  readonly bootstrapRetries?: number;
  /** Default refresh for every secret (default `{ interval: '5m', jitter: 0.1 }`). */
  readonly refresh?: RefreshPolicy | false;
  /** How long a value is still served after its refresh started failing (default `'1h'`). */
  readonly maxStaleness?: Duration;
  readonly scheduler?: RefreshScheduler;
  /** Called on every `get()`; the audit trail hooks in here. Throwing refuses the read. */
  readonly onAccess?: (event: SecretAccessEvent) => void;
  /** Revoke the leases still held when the store closes (default `false`: they expire). */
  readonly revokeLeasesOnClose?: boolean;
}

export function currentEnvironment(explicit: string | undefined): string {
  const environment = explicit ?? (process.env['NODE_ENV'] || 'development');
  if (!environment) throw new KeywardError('CONFIG_INVALID', '`environment` must not be empty');
  return environment;
}

export function isProvider(value: unknown): value is SecretProvider {
  const p = value as SecretProvider | undefined;
  return typeof p?.read === 'function' && typeof p.locate === 'function';
}

/** The provider that serves `providerName` in `environment`, or a CONFIG_INVALID error saying what is configured. */
export function selectProvider(
  providers: ProvidersByEnvironment,
  environment: string,
  secret: string,
  providerName: string,
): SecretProvider {
  const set = providers[environment] ?? providers['*'];
  if (set === undefined) {
    throw new KeywardError(
      'CONFIG_INVALID',
      `no providers are configured for environment "${environment}" (configured: ${Object.keys(providers).join(', ') || 'none'})`,
    );
  }
  if (isProvider(set)) return set;
  const provider = set[providerName];
  if (!isProvider(provider)) {
    throw new KeywardError(
      'CONFIG_INVALID',
      `secret "${secret}" wants provider "${providerName}", which environment "${environment}" does not configure (it has: ${Object.keys(set).join(', ')})`,
    );
  }
  return provider;
}
