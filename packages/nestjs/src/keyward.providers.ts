import { createApiKeyVerifier, SecretStore, type ApiKeyVerifier, type Pepper } from '@keyward/core';
import { Scope, type FactoryProvider, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard, KEYWARD_API_KEY_VERIFIER } from './api-key.guard.js';
import { KeywardExceptionFilter } from './keyward-exception.filter.js';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { KeywardApiKeysOptions, KeywardModuleOptions } from './keyward.module-options.js';
import { ScheduleRegistryScheduler } from './schedule-registry.scheduler.js';
import { SecretRef } from './secret-ref.js';
import { getSecretToken, secretNamesInUse } from './secret-token.js';

/**
 * The store, started: Nest awaits the factory before it builds anything that injects the store,
 * so a dependent factory may read a secret synchronously, and a missing secret fails the bootstrap
 * with the store's `SecretsUnavailableError`.
 */
export function secretStoreProvider(optionsToken: string | symbol): FactoryProvider<SecretStore> {
  return {
    provide: SecretStore,
    inject: [optionsToken, SchedulerRegistry],
    useFactory: (options: KeywardModuleOptions, registry: SchedulerRegistry) =>
      new SecretStore({ ...options, scheduler: new ScheduleRegistryScheduler(registry) }).start(),
  };
}

/** A `SecretRef` provider for every name a token was made for. */
export function secretRefProviders(): FactoryProvider<SecretRef>[] {
  return secretNamesInUse().map((name) => ({
    provide: getSecretToken(name),
    // Nest builds a transient provider only for a class that injects it, so a name recorded
    // elsewhere in the process (another app, an unused class) cannot fail this bootstrap.
    scope: Scope.TRANSIENT,
    inject: [SecretStore],
    useFactory: (store: SecretStore) => new SecretRef(store, name),
  }));
}

/** The verifier over the declared ring and pepper and (by default) the global guard. */
export function apiKeyProviders(options: KeywardApiKeysOptions | undefined): Provider[] {
  if (options === undefined) return [];
  const verifier: FactoryProvider<ApiKeyVerifier> = {
    provide: KEYWARD_API_KEY_VERIFIER,
    inject: [SecretStore],
    useFactory: (store: SecretStore) =>
      createApiKeyVerifier({ ring: () => store.get(options.ring).reveal(), pepper: () => store.get(options.pepper).reveal() as Pepper }),
  };
  return options.globalGuard === false ? [verifier] : [verifier, { provide: APP_GUARD, useClass: ApiKeyGuard }];
}

/**
 * `KeywardExceptionFilter`, once, when the module throws Keyward errors at requests: the API key
 * guard's refusals (401/403) and `@AuditFailClosed()`'s (503). It catches nothing else.
 */
export function exceptionFilterProviders(needed: boolean): Provider[] {
  return needed ? [{ provide: APP_FILTER, useClass: KeywardExceptionFilter }] : [];
}
