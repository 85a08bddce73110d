import type { SecretStoreOptions } from '@keyward/core';
import type { ConfigurableModuleAsyncOptions } from '@nestjs/common';
import type { KeywardAuditOptions } from './audit.providers.js';
import type { KeywardEnvelopeOptions } from './envelope.providers.js';

/**
 * The store's options; the module supplies the `scheduler` (`@nestjs/schedule`).
 *
 * @example
 * const options: KeywardModuleOptions = { app: 'billing', providers: { '*': envProvider() }, secrets: { apiToken: {} } };
 */
export type KeywardModuleOptions = Omit<SecretStoreOptions, 'scheduler'>;

/** How the module itself is registered. */
export interface KeywardModuleExtras {
  /** Make the store and the secret refs injectable in every module (default `false`). */
  readonly isGlobal?: boolean;
  /**
   * Import a `ScheduleModule` that only provides the `SchedulerRegistry` for the refreshes
   * (default `true`). Set `false` to use the registry of the app's own global
   * `ScheduleModule.forRoot()` instead, so that its `getIntervals()` lists Keyward's refreshes.
   */
  readonly importScheduleModule?: boolean;
  /**
   * API keys checked against a key ring and pepper declared among the secrets: provides the
   * verifier under `KEYWARD_API_KEY_VERIFIER` (it sees each new ring version as soon as the
   * store does), registers `KeywardExceptionFilter` (which answers the guard's refusals) and,
   * unless `globalGuard` is `false`, `ApiKeyGuard` as a global guard (every route needs a key
   * unless `@Public()`).
   *
   * @example { ring: 'apiKeys', pepper: 'apiKeyPepper' }
   */
  readonly apiKeys?: KeywardApiKeysOptions;
  /**
   * An audit trail keyed by a declared secret: provides it under `KEYWARD_AUDIT_TRAIL`, records
   * the store's events (and the key ring's, with `apiKeys`), writes one `http.request` record per
   * request (middleware on every route: id, method, route template, status, duration, principal,
   * the secrets read while serving it), registers `AuditGuard` (route templates,
   * `@AuditFailClosed()`, after the API key guard) and `KeywardExceptionFilter`, and closes the trail after the store.
   *
   * @example { key: 'auditKey', file: 'logs/audit.jsonl' }
   */
  readonly audit?: KeywardAuditOptions;
  /**
   * Envelope encryption for fields at rest: provides an `Envelope` under `KEYWARD_ENVELOPE`
   * (`encrypt`, `decrypt`, `rewrap`, `rewrapAll`), whose cached data keys are wiped when the app
   * closes. See {@link KeywardEnvelopeOptions}.
   *
   * @example { kek: { localKeySet: 'envelopeKek' } }
   */
  readonly envelope?: KeywardEnvelopeOptions;
}

/** See {@link KeywardModuleExtras.apiKeys}. */
export interface KeywardApiKeysOptions {
  /** The declared secret holding the key ring document (Vault KV data, a JSON secret, or `format: 'json'`). */
  readonly ring: string;
  /** The declared secret holding the pepper (a string). */
  readonly pepper: string;
  /** Register `ApiKeyGuard` for every route (default `true`); `false` to use it per controller with `@UseGuards(ApiKeyGuard)`. */
  readonly globalGuard?: boolean;
}

/**
 * A class that `forRootAsync({ useClass })` builds to get the options.
 *
 * @example
 * @Injectable()
 * class KeywardConfig implements KeywardOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createKeywardOptions() { return { app: 'billing', environment: this.config.get('ENV'), providers, secrets }; }
 * }
 */
export interface KeywardOptionsFactory {
  createKeywardOptions(): KeywardModuleOptions | Promise<KeywardModuleOptions>;
}

/**
 * `forRootAsync` options: `useFactory` + `inject`, `useClass` or `useExisting`, `imports`, and the extras.
 *
 * @example
 * KeywardModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config: ConfigService) => config.keyward });
 */
export type KeywardModuleAsyncOptions = ConfigurableModuleAsyncOptions<KeywardModuleOptions, 'createKeywardOptions'> & KeywardModuleExtras;
