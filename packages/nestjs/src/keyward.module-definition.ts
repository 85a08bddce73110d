import { SecretStore, type SecretStoreOptions } from '@keyward/core';
import { ConfigurableModuleBuilder, type ConfigurableModuleAsyncOptions, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { KEYWARD_API_KEY_VERIFIER } from './api-key.guard.js';
import { auditProviders, type KeywardAuditOptions } from './audit.providers.js';
import { KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';
import { apiKeyProviders, exceptionFilterProviders, secretRefProviders, secretStoreProvider } from './keyward.providers.js';
import { getSecretToken, secretNamesInUse } from './secret-token.js';

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
   * the secrets read while serving it), registers `AuditInterceptor` (route templates,
   * `@AuditFailClosed()`) and `KeywardExceptionFilter`, and closes the trail after the store.
   *
   * @example { key: 'auditKey', file: 'logs/audit.jsonl' }
   */
  readonly audit?: KeywardAuditOptions;
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

// Under Nest 12's default module ids (by reference) a second `ScheduleModule.forRoot()` is a
// second module, whose explorer would run every @Cron/@Interval of the app again: this one
// looks for none. One object, so that several imports of it are one module.
const schedulerRegistryModule = ScheduleModule.forRoot({ cronJobs: false, intervals: false, timeouts: false });

/**
 * The injection token of the module's options, as given to `forRoot` or made by `forRootAsync`.
 *
 * @example constructor(@Inject(KEYWARD_MODULE_OPTIONS) options: KeywardModuleOptions) {}
 */
export const KEYWARD_MODULE_OPTIONS = 'KEYWARD_MODULE_OPTIONS';

export const { ConfigurableModuleClass: ConfigurableKeywardModule } = new ConfigurableModuleBuilder<KeywardModuleOptions>({
  optionsInjectionToken: KEYWARD_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKeywardOptions')
  .setExtras<KeywardModuleExtras>({ isGlobal: false, importScheduleModule: true }, completeDefinition)
  .build();

function completeDefinition(definition: DynamicModule, extras: KeywardModuleExtras): DynamicModule {
  const providers = [
    ...(definition.providers ?? []),
    secretStoreProvider(KEYWARD_MODULE_OPTIONS),
    ...auditProviders(extras.audit, extras.apiKeys?.ring),
    ...apiKeyProviders(extras.apiKeys),
    ...exceptionFilterProviders(extras.apiKeys !== undefined || extras.audit !== undefined),
  ];
  const extraExports = [
    ...(extras.apiKeys === undefined ? [] : [KEYWARD_API_KEY_VERIFIER]),
    ...(extras.audit === undefined ? [] : [KEYWARD_AUDIT_TRAIL]),
  ];
  const module: DynamicModule = {
    ...definition,
    global: extras.isGlobal === true,
    imports: [...(definition.imports ?? []), ...(extras.importScheduleModule === false ? [] : [schedulerRegistryModule])],
  };
  // Read when Nest scans the module, not when forRoot() runs: an @InjectSecret in a file that is
  // evaluated after this call still gets its provider, and forRootAsync knows no names up front.
  return Object.defineProperties(module, {
    providers: { enumerable: true, get: () => [...providers, ...secretRefProviders()] },
    exports: { enumerable: true, get: () => [SecretStore, ...extraExports, ...secretNamesInUse().map(getSecretToken)] },
  });
}
