import { refreshable, SecretStore, type RefreshableOptions, type Secret } from '@keyward/core';
import type { FactoryProvider, InjectionToken, OptionalFactoryDependency } from '@nestjs/common';

/** What `refreshableProvider()` needs: a token, the secret, and how to build (with other providers) and dispose. */
export interface RefreshableProviderOptions<T, V = unknown> extends Omit<RefreshableOptions<T, V>, 'store' | 'build'> {
  /** The token to inject the `Refreshable<T>` by. */
  readonly provide: InjectionToken;
  /** Makes an instance from the secret; `deps` are the providers named in `inject`, in order. */
  build(secret: Secret<V>, ...deps: never[]): T | Promise<T>;
  /** Providers `build` receives after the secret. */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
}

/**
 * A provider whose instance is rebuilt when its secret rotates (see `refreshable()` in
 * `@keyward/core`): inject the `Refreshable<T>` and call `use()` (or `current()`); new calls get
 * the new instance, the old one is disposed after its calls in flight. Closed when the app shuts
 * down. Needs `KeywardModule` (its `SecretStore`).
 *
 * @example
 * export const PARTNER = Symbol('PARTNER');
 * @Module({
 *   providers: [
 *     refreshableProvider({
 *       provide: PARTNER,
 *       secret: 'partnerToken',
 *       inject: [ConfigService],
 *       build: (token, config: ConfigService) => new PartnerClient(config.get('PARTNER_URL'), token.reveal()),
 *       dispose: (client) => client.close(),
 *     }),
 *   ],
 * })
 * class PartnerModule {}
 * // constructor(@Inject(PARTNER) private readonly partner: Refreshable<PartnerClient>) {}
 * // await this.partner.use((client) => client.listOrders());
 */
export function refreshableProvider<T, V = unknown>(options: RefreshableProviderOptions<T, V>): FactoryProvider {
  const { provide, inject = [], build, ...rest } = options;
  return {
    provide,
    inject: [SecretStore, ...inject],
    useFactory: async (store: SecretStore, ...deps: never[]) => {
      const instance = await refreshable<T, V>({ ...rest, store, build: (secret) => build(secret, ...deps) });
      // Nest calls the shutdown hooks of factory-made instances too: the last instance is disposed with the app.
      return Object.assign(instance, { onApplicationShutdown: () => instance.close() });
    },
  };
}
