import type { Duration } from '../util/duration.js';
import type { RawSecretValue } from '../secret/secret.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** How often a secret is read again. `false` turns refresh off for it. */
export interface RefreshPolicy {
  /** Time between reads, e.g. `'5m'`. */
  readonly interval: Duration;
  /** Spread of each wait, as a fraction of the interval (default 0.1: ±10%). */
  readonly jitter?: number;
}

/**
 * What an app needs to know about one secret. Everything is optional: `{}` reads the secret
 * named like its key, from the environment's default provider, at `{app}/{env}/{name}`.
 *
 * @example
 * const secrets = {
 *   database: { path: 'shared/{env}/postgres', schema: z.object({ username: z.string(), password: z.string() }) },
 *   stripeKey: { provider: 'aws', key: 'apiKey' },
 *   sentryDsn: { required: false },
 * } satisfies SecretDeclarations;
 */
export interface SecretDeclaration {
  /** Which of the environment's providers serves it (default `'default'`). */
  readonly provider?: string;
  /** Path template; `{app}`, `{env}`, `{name}` and the store's `variables` are filled in. */
  readonly path?: string;
  /** Parse a string value as JSON before validation. */
  readonly format?: 'text' | 'json';
  /** Take one key out of a map value (a Kubernetes Secret's file, a Vault KV field). */
  readonly key?: string;
  /** Any Standard Schema validator (zod, valibot, arktype...). Its output is the secret's type. */
  readonly schema?: StandardSchemaV1;
  /** Overrides the store's refresh policy. */
  readonly refresh?: RefreshPolicy | false;
  /** A missing required secret fails start-up; a missing optional one is `undefined`. Default `true`. */
  readonly required?: boolean;
  /** Free text for operators; shown in health output. */
  readonly description?: string;
}

/**
 * The secrets an app needs, by name: the `secrets` of `SecretStoreOptions`.
 *
 * @example
 * const secrets = { database: { path: 'billing/{env}/db', refresh: { interval: '5m' } }, stripeKey: {} } satisfies SecretDeclarations;
 */
export type SecretDeclarations = Readonly<Record<string, SecretDeclaration>>;

/** The type of a declared secret's value. */
export type SecretValueOf<D extends SecretDeclaration> = D extends { schema: infer S extends StandardSchemaV1 }
  ? StandardSchemaV1.InferOutput<S>
  : D extends { key: string }
    ? string
    : D extends { format: 'json' }
      ? unknown
      : RawSecretValue;

/** Whether `store.get()` may return `undefined` for it. */
export type IsOptional<D extends SecretDeclaration> = D extends { required: false } ? true : false;
