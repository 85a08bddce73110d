import { KeywardError, SecretStore, type SecretRotatedEvent } from '@keyward/core';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { KEYWARD_ON_SECRET_ROTATED } from './on-secret-rotated.decorator.js';

interface RotationListener {
  readonly names: readonly string[];
  readonly where: string;
  call(event: SecretRotatedEvent): unknown;
}

/**
 * Finds the `@OnSecretRotated()` methods of the app's providers and controllers once they are
 * all built, and calls them on the store's `rotated` events. Registered by `KeywardModule`.
 */
@Injectable()
export class SecretRotationExplorer implements OnModuleInit, OnModuleDestroy {
  readonly #logger = new Logger('KeywardModule');
  readonly #listeners: RotationListener[] = [];
  readonly #onRotated = (event: SecretRotatedEvent) => this.#dispatch(event);

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(SecretStore) private readonly store: SecretStore,
  ) {}

  onModuleInit(): void {
    const declared = new Set(this.store.names);
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      // Request-scoped and transient providers have no one instance to call.
      const instance: unknown = wrapper.instance;
      if (instance === null || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
      if (prototype === null) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const names = this.reflector.get<string[] | undefined>(KEYWARD_ON_SECRET_ROTATED, prototype[method] as () => unknown);
        if (names === undefined) continue;
        const where = `${wrapper.name === undefined ? 'a provider' : String(wrapper.name)}.${method}`;
        for (const name of names) {
          if (!declared.has(name)) throw new KeywardError('SECRET_NOT_DECLARED', `is not declared in the store, so @OnSecretRotated() on ${where} would never be called`, { secret: name });
        }
        const target = instance as Record<string, (event: SecretRotatedEvent) => unknown>;
        this.#listeners.push({ names, where, call: (event) => target[method]!(event) });
      }
    }
    if (this.#listeners.length > 0) this.store.on('rotated', this.#onRotated);
  }

  onModuleDestroy(): void {
    this.store.off('rotated', this.#onRotated);
  }

  #dispatch(event: SecretRotatedEvent): void {
    for (const listener of this.#listeners) {
      if (!listener.names.includes(event.name)) continue;
      try {
        const result = listener.call(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.#failed(listener, event, err));
      } catch (err) {
        this.#failed(listener, event, err);
      }
    }
  }

  /** By name and code only: an error's message may quote what the method was handling. */
  #failed(listener: RotationListener, event: SecretRotatedEvent, err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    this.#logger.error(`@OnSecretRotated() ${listener.where} failed for ${event.name}@${event.current.version}: ${err instanceof Error ? err.name : 'error'}${typeof code === 'string' ? ` ${code}` : ''}`);
  }
}
