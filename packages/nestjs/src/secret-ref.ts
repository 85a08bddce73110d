import { KeywardError, Redacted, type RawSecretValue, type Secret, type SecretStore } from '@keyward/core';

/**
 * A live handle on one declared secret: every `get()` asks the store, so a rotated value is
 * seen at once, the store's `onAccess` hook (the audit trail) fires on each read, and
 * `SECRET_STALE` / `STORE_CLOSED` apply. Printing or serialising it shows `[secret ref name]`.
 *
 * @example
 * @Controller('billing')
 * class BillingController {
 *   constructor(@InjectSecret('stripeKey') private readonly stripeKey: SecretRef<string>) {}
 *   @Post() charge() { return stripe(this.stripeKey.reveal()).charge(); }
 * }
 */
export class SecretRef<T = RawSecretValue> extends Redacted {
  readonly name: string;
  readonly #store: SecretStore;

  /** Throws `SECRET_NOT_DECLARED` unless the store declares `name`, so a typo fails at bootstrap. */
  constructor(store: SecretStore, name: string) {
    super();
    if (!store.names.includes(name)) {
      throw new KeywardError('SECRET_NOT_DECLARED', 'is injected but not declared in the store, so it is not served (least privilege)', {
        secret: name,
      });
    }
    this.#store = store;
    this.name = name;
  }

  /**
   * The current value. Throws what `store.get()` throws, and `SECRET_NOT_FOUND` for an optional
   * secret that has no value (check `has()` first).
   */
  get(): Secret<T> {
    const secret = this.#store.get(this.name) as Secret<T> | undefined;
    if (secret === undefined) {
      throw new KeywardError('SECRET_NOT_FOUND', 'is optional and has no value now; check has() before get()', { secret: this.name });
    }
    return secret;
  }

  /** The current value itself: `get().reveal()`. */
  reveal(): T {
    return this.get().reveal();
  }

  /** Whether the secret has a value now (an optional one may not). Not counted as an access. */
  has(): boolean {
    return this.#store.has(this.name);
  }

  override toString(): string {
    return `[secret ref ${this.name}]`;
  }

}
