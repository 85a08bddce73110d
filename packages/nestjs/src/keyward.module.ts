import { SecretStore } from '@keyward/core';
import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import {
  ConfigurableKeywardModule,
  type KeywardModuleAsyncOptions,
  type KeywardModuleExtras,
  type KeywardModuleOptions,
} from './keyward.module-definition.js';
import { getSecretToken } from './secret-token.js';

/**
 * Loads the app's secrets before Nest builds the providers that need them, keeps them fresh
 * with `@nestjs/schedule`, and closes the store when the app closes. Inject the started
 * `SecretStore` by its class, or one secret with `@InjectSecret(name)`.
 *
 * @example
 * @Module({
 *   imports: [
 *     KeywardModule.forRoot({
 *       app: 'billing',
 *       providers: { production: vaultKv, '*': dotenvProvider() },
 *       secrets: { database: { format: 'json' }, stripeKey: {} },
 *       isGlobal: true,
 *     }),
 *     DatabaseModule.forRootAsync({
 *       inject: [SecretStore],
 *       useFactory: (store: SecretStore) => ({ password: store.get('database').reveal() }),
 *     }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({})
export class KeywardModule extends ConfigurableKeywardModule implements OnApplicationShutdown {
  readonly #store: SecretStore;

  constructor(@Inject(SecretStore) store: SecretStore) {
    super();
    this.#store = store;
  }

  /**
   * Options known up front.
   *
   * @example KeywardModule.forRoot({ app: 'billing', providers: { '*': envProvider() }, secrets: { apiToken: {} } })
   */
  static override forRoot(options: KeywardModuleOptions & KeywardModuleExtras): DynamicModule {
    // A provider for every declared name, so `app.resolve(getSecretToken(name))` works after bootstrap too.
    for (const name of Object.keys(options.secrets)) getSecretToken(name);
    return super.forRoot(options);
  }

  /**
   * Options from other providers (a config service).
   *
   * @example
   * KeywardModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ app: 'billing', environment: config.get('ENV'), providers, secrets }),
   *   isGlobal: true,
   * })
   */
  static override forRootAsync(options: KeywardModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }

  /** Stops the refreshes and closes the providers. */
  async onApplicationShutdown(): Promise<void> {
    await this.#store.close();
  }
}
