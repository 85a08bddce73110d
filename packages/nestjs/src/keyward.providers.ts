import { SecretStore } from '@keyward/core';
import { Scope, type FactoryProvider } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { KeywardModuleOptions } from './keyward.module-definition.js';
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
