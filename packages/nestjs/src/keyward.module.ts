import { SecretStore, type AuditTrail, type Envelope } from '@keyward/core';
import { Inject, Module, Optional, type DynamicModule, type NestModule, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { auditMiddleware, type KeywardAuditOptions } from './audit.providers.js';
import { KEYWARD_AUDIT_OPTIONS, KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';
import { closeModuleKek, KEYWARD_ENVELOPE } from './envelope.providers.js';
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
 * `SecretStore` by its class, or one secret with `@InjectSecret(name)`. With `audit`, every
 * request gets an audit record (see {@link KeywardModuleExtras.audit}).
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
export class KeywardModule extends ConfigurableKeywardModule implements NestModule, OnApplicationShutdown {
  readonly #store: SecretStore;
  readonly #trail: AuditTrail | undefined;
  readonly #audit: KeywardAuditOptions | undefined;
  readonly #adapterHost: HttpAdapterHost;
  readonly #envelope: Envelope | undefined;

  constructor(
    @Inject(SecretStore) store: SecretStore,
    @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost,
    @Optional() @Inject(KEYWARD_AUDIT_TRAIL) trail?: AuditTrail,
    @Optional() @Inject(KEYWARD_AUDIT_OPTIONS) audit?: KeywardAuditOptions,
    @Optional() @Inject(KEYWARD_ENVELOPE) envelope?: Envelope,
  ) {
    super();
    this.#store = store;
    this.#adapterHost = adapterHost;
    this.#trail = trail;
    this.#audit = audit;
    this.#envelope = envelope;
  }

  /**
   * With `audit`: mounts the audit middleware for every request. Nest calls this while it
   * registers the modules' middleware, before any of it is mounted and before the routes: the
   * audit middleware is mounted right there on the HTTP adapter (as `app.use()` would), so it
   * runs before every `consumer.apply()` middleware, guard, interceptor and handler (the API key
   * guard's reads and the handler's are inside the request's audit context), for requests outside
   * a global prefix and requests no route matches too, with `req.url` left as it is.
   * (`consumer.apply().forRoutes('*')` would mount it under the global prefix only, after the
   * middleware of modules nearer the root, and with `req.url` cut to what follows the mount path.)
   * On Express it goes in front of what Nest mounted before (its JSON and form body parsers, CORS):
   * a body they refuse (400, 413, 415) is answered with its record too.
   */
  configure(): void {
    if (this.#trail === undefined || this.#audit === undefined) return;
    const adapter = this.#adapterHost.httpAdapter;
    if (adapter === undefined || adapter === null) return;
    const middleware = auditMiddleware(this.#trail, this.#audit);
    adapter.use(middleware);
    if (adapter.getType() === 'express') moveInFront(adapter.getInstance(), middleware);
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

  /**
   * Wipes the envelope's cached data keys, stops the refreshes and closes the providers, then (with `audit`) closes the trail: the
   * store's last events (lease revocations) are recorded, and the records of every request
   * answered before the HTTP server closed are flushed (fsync). Nest calls the shutdown hooks
   * by distance from the root module, global modules last: those of modules nearer the root
   * (all of them with `isGlobal: true`) may still record on the trail.
   */
  async onApplicationShutdown(): Promise<void> {
    this.#envelope?.close();
    if (this.#envelope !== undefined) await closeModuleKek(this.#envelope.kek);
    try {
      await this.#store.close();
    } finally {
      await this.#trail?.close();
    }
  }
}

/** Express's own request set-up layers (Express 4), which stay first. */
const EXPRESS_SET_UP = new Set(['query', 'expressInit']);

/** Moves the layer of `handle`, just added to an Express app, in front of the app's other middleware. */
function moveInFront(app: { _router?: { stack?: unknown }; router?: { stack?: unknown } }, handle: unknown): void {
  // Express 4 keeps its router in `_router` (its `app.router` getter throws); Express 5 in `router`.
  const stack = (app._router ?? app.router)?.stack as { handle?: unknown; name?: unknown }[] | undefined;
  if (!Array.isArray(stack)) return;
  const at = stack.findIndex((layer) => layer.handle === handle);
  if (at === -1) return;
  const [layer] = stack.splice(at, 1);
  const first = stack.findIndex((l) => !EXPRESS_SET_UP.has(l.name as string));
  stack.splice(first === -1 ? stack.length : first, 0, layer!);
}
