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
  /**
   * Chooses the providers and fills `{env}`. Default: `KEYWARD_ENV`, else `NODE_ENV`, else
   * `development`, which is then reported (a `KEYWARD_ENV_FALLBACK` process warning, and
   * `environment.source: 'fallback'` in `health()`) or refused with `requireEnvironment`.
   */
  readonly environment?: string | undefined;
  /**
   * Refuse to fall back to `development` (`CONFIG_INVALID`): the environment must come from
   * `environment`, `KEYWARD_ENV` or `NODE_ENV`, so a production container that forgot
   * `NODE_ENV` does not read a stray `.env`. `KEYWARD_REQUIRE_ENV=1` turns it on too. Default `false`.
   *
   * @example new SecretStore({ app: 'billing', requireEnvironment: true, providers, secrets })
   */
  readonly requireEnvironment?: boolean;
  readonly providers: ProvidersByEnvironment;
  readonly secrets: D;
  /** Default path template (default `{app}/{env}/{name}`). */
  readonly pathTemplate?: string;
  /** More placeholders for path templates, e.g. `{ team: 'payments' }` for `{team}`. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Reads at once during bootstrap (default 32: 200 secrets in 7 rounds of reads, two `BatchGetSecretValue` calls in flight on AWS). */
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

/**
 * Where the store's environment came from; `fallback` means nothing chose it and `development` was taken.
 *
 * @example if (store.health().environment.source === 'fallback') log.warn('NODE_ENV is not set');
 */
export type EnvironmentSource = 'option' | 'KEYWARD_ENV' | 'NODE_ENV' | 'fallback';

/**
 * The environment a store runs for, and where that came from (in `store.health().environment`).
 *
 * @example { name: 'production', source: 'NODE_ENV' }
 */
export interface StoreEnvironment {
  readonly name: string;
  readonly source: EnvironmentSource;
}

const FALLBACK_ENVIRONMENT = 'development';
const WAYS = '`environment` in the store options, KEYWARD_ENV or NODE_ENV';
let fallbackReported = false;

/**
 * The `environment` option, else `KEYWARD_ENV`, else `NODE_ENV` (empty counts as unset), else
 * `development`: refused with `requireEnvironment` or `KEYWARD_REQUIRE_ENV`, otherwise reported
 * once per process as a `KEYWARD_ENV_FALLBACK` warning.
 */
export function currentEnvironment(explicit: string | undefined, requireEnvironment = false): StoreEnvironment {
  if (explicit !== undefined) {
    if (!explicit) throw new KeywardError('CONFIG_INVALID', '`environment` must not be empty');
    return { name: explicit, source: 'option' };
  }
  for (const variable of ['KEYWARD_ENV', 'NODE_ENV'] as const) {
    const name = process.env[variable];
    if (name) return { name, source: variable };
  }
  if (requireEnvironment || /^(1|true)$/i.test(process.env['KEYWARD_REQUIRE_ENV'] ?? '')) {
    throw new KeywardError('CONFIG_INVALID', `no environment is set, and one is required (requireEnvironment or KEYWARD_REQUIRE_ENV): set ${WAYS}`);
  }
  if (!fallbackReported) {
    fallbackReported = true;
    process.emitWarning(
      `no environment is set (${WAYS}), so Keyward uses "${FALLBACK_ENVIRONMENT}" and its providers; set KEYWARD_REQUIRE_ENV=1 to refuse this instead`,
      { code: 'KEYWARD_ENV_FALLBACK' },
    );
  }
  return { name: FALLBACK_ENVIRONMENT, source: 'fallback' };
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
