import { SecretStore } from '@keyward/core';
import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { KEYWARD_API_KEY_VERIFIER } from './api-key.guard.js';
import { auditProviders } from './audit.providers.js';
import { envelopeProviders, KEYWARD_ENVELOPE } from './envelope.providers.js';
import { KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';
import type { KeywardModuleExtras, KeywardModuleOptions } from './keyward.module-options.js';
import { apiKeyProviders, exceptionFilterProviders, secretRefProviders, secretStoreProvider } from './keyward.providers.js';
import { SecretRotationExplorer } from './secret-rotation.explorer.js';
import { getSecretToken, secretNamesInUse } from './secret-token.js';

// The options live in a leaf file (keyward.providers.ts needs them too); re-exported for the package index.
export type { KeywardApiKeysOptions, KeywardModuleAsyncOptions, KeywardModuleExtras, KeywardModuleOptions, KeywardOptionsFactory } from './keyward.module-options.js';

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

/** The base class `KeywardModule` extends: Nest's `ConfigurableModuleBuilder` gives it `forRoot` and `forRootAsync`. Use `KeywardModule`. */
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
    // Global guards run in the order they are provided: the API key guard, then the audit guard.
    ...apiKeyProviders(extras.apiKeys),
    ...auditProviders(extras.audit, extras.apiKeys?.ring),
    ...envelopeProviders(extras.envelope),
    ...exceptionFilterProviders(extras.apiKeys !== undefined || extras.audit !== undefined),
    // Calls the app's @OnSecretRotated() methods.
    SecretRotationExplorer,
  ];
  const extraExports = [
    ...(extras.apiKeys === undefined ? [] : [KEYWARD_API_KEY_VERIFIER]),
    ...(extras.audit === undefined ? [] : [KEYWARD_AUDIT_TRAIL]),
    ...(extras.envelope === undefined ? [] : [KEYWARD_ENVELOPE]),
  ];
  const module: DynamicModule = {
    ...definition,
    global: extras.isGlobal === true,
    imports: [...(definition.imports ?? []), DiscoveryModule, ...(extras.importScheduleModule === false ? [] : [schedulerRegistryModule])],
  };
  // Read when Nest scans the module, not when forRoot() runs: an @InjectSecret in a file that is
  // evaluated after this call still gets its provider, and forRootAsync knows no names up front.
  return Object.defineProperties(module, {
    providers: { enumerable: true, get: () => [...providers, ...secretRefProviders()] },
    exports: { enumerable: true, get: () => [SecretStore, ...extraExports, ...secretNamesInUse().map(getSecretToken)] },
  });
}
