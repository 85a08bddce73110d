import { Redacted } from './redacted.js';

/** The raw shape providers deliver: a string, or a map of keys (a Kubernetes Secret, a Vault KV entry, AWS JSON). */
export type RawSecretValue = string | Readonly<Record<string, string>>;

/** What a `Secret` knows about itself besides its value: version, when it was read, its lease. */
export interface SecretMetadata {
  /** The backend's version when it has one (Vault KV `metadata.version`), else one the store counts. */
  readonly version: string;
  /** When this value was read from its provider. */
  readonly fetchedAt: Date;
  /** The lease this value is bound to (dynamic credentials), if any. */
  readonly lease?: SecretLease | undefined;
}

/** A backend lease: the value stops working when it ends unless renewed. */
export interface SecretLease {
  readonly id: string;
  /** Time to live from `issuedAt`, in milliseconds. */
  readonly ttlMs: number;
  readonly renewable: boolean;
  readonly issuedAt: Date;
}

/**
 * A secret value that is reached only on purpose. Printing, logging, serialising or
 * inspecting it shows `[secret name@version]`; `reveal()` is the only way to the value.
 *
 * @example
 * const db = store.get('database');
 * console.log(`${db}`);                 // [secret database@v3]
 * new pg.Client({ password: db.reveal().password });
 */
export class Secret<T = RawSecretValue> extends Redacted {
  readonly #value: T;
  readonly name: string;
  readonly version: string;
  readonly fetchedAt: Date;
  readonly lease: SecretLease | undefined;

  constructor(name: string, value: T, metadata: SecretMetadata) {
    super();
    this.#value = deepFreeze(value);
    this.name = name;
    this.version = metadata.version;
    this.fetchedAt = metadata.fetchedAt;
    this.lease = metadata.lease;
  }

  /** The value itself. Call it where the value is used, and keep it out of logs. */
  reveal(): T {
    return this.#value;
  }

  override toString(): string {
    return `[secret ${this.name}@${this.version}]`;
  }
}

function deepFreeze<T>(value: T): T {
  // Bytes (a SecretBinary) cannot be frozen: they are served as they are.
  if (ArrayBuffer.isView(value)) return value;
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
