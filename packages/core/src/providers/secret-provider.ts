import type { SecretLease } from '../secret/secret.js';

/** Which secret a provider is asked for. */
export interface SecretRef {
  /** The declared name (`database`). */
  readonly name: string;
  /** The rendered path template (`billing/production/database`). */
  readonly path: string;
  readonly app: string;
  readonly environment: string;
}

/** What the store hands a provider with each read: the signal to honour and the value it holds now. */
export interface ReadContext {
  /** Aborted on timeout and when the store closes. Pass it to every network call. */
  readonly signal: AbortSignal;
  /** What the store holds now, so a provider can answer `UNCHANGED` after a cheap check. */
  readonly current?: { readonly version: string; readonly lease?: SecretLease | undefined } | undefined;
}

/** What a provider read. `value` is a string or a map of strings. */
export interface SecretPayload {
  readonly value: unknown;
  /** The backend's version, if it has one. */
  readonly version?: string | undefined;
  readonly lease?: SecretLease | undefined;
}

/** A provider's answer to a refresh when the backend says nothing changed. */
export const UNCHANGED: unique symbol = Symbol('keyward.unchanged');
/** What `read()` resolves to: a new payload, or `UNCHANGED` when the provider found no change. */
export type ReadResult = SecretPayload | typeof UNCHANGED;

/** What `start()` tells a provider: the app and the environment the store runs for. */
export interface ProviderStartContext {
  readonly app: string;
  readonly environment: string;
}

/**
 * A source of secrets. Providers throw `KeywardError`s: `SECRET_NOT_FOUND`, `PERMISSION_DENIED`,
 * `PROVIDER_UNAVAILABLE` / `PROVIDER_TIMEOUT` (retried, served stale meanwhile).
 *
 * @example
 * const memory: SecretProvider = {
 *   kind: 'memory',
 *   locate: (ref) => `memory:${ref.path}`,
 *   async read(ref) { return { value: values[ref.path] }; },
 * };
 */
export interface SecretProvider {
  /** Short name for messages and health (`env`, `dotenv`, `file`, `vault-kv`). */
  readonly kind: string;
  /** Where a secret lives, for messages: a path or a variable name, never a value. */
  locate(ref: SecretRef): string;
  /** Called once before the first read; may refuse to run in this environment. */
  start?(context: ProviderStartContext): void | Promise<void>;
  read(ref: SecretRef, context: ReadContext): Promise<ReadResult>;
  /** Extends a lease; returns the lease as it now stands. */
  renew?(lease: SecretLease, context: ReadContext): Promise<SecretLease>;
  /** Ends a lease early (the credentials stop working). */
  revoke?(lease: SecretLease, context: ReadContext): Promise<void>;
  /** Calls `onChange` when the secret may have changed (a file swap); returns a function that stops watching. */
  watch?(ref: SecretRef, onChange: () => void): () => void;
  close?(): Promise<void>;
}
