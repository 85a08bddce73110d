/**
 * String pairs bound to an envelope: authenticated with the data (AES-GCM additional data) and
 * passed to the key service as its encryption context, so a value decrypts only where it was
 * stored. Put the table and the row's id in it: `{ table: 'notes', id: '42' }`. Never secret:
 * key services log it (CloudTrail) and the envelope does not hide it.
 */
export type EncryptionContext = Readonly<Record<string, string>>;

/**
 * Which key-encryption key (KEK), and which version of it, wrapped an envelope's data key.
 * Written in clear into every envelope; it names keys, never holds them.
 */
export interface KekReference {
  /** The KEK provider's name: `local`, `aws-kms`, `vault-transit`, or a custom provider's. */
  readonly provider: string;
  /** The key as its backend names it: a KMS key ARN, a transit key name, a local key name. */
  readonly keyId: string;
  /** The KEK version: transit's version number, KMS's key material id, the local key's version. */
  readonly keyVersion: string;
}

/** A data key encrypted under a KEK version: what an envelope stores instead of the data key. */
export interface WrappedDataKey extends KekReference {
  /** The provider's ciphertext of the data key; opaque to everyone else. */
  readonly wrapped: Uint8Array;
}

/** A fresh 256-bit data key: in clear for encrypting now (then wiped), and wrapped for storing. */
export interface GeneratedDataKey {
  /** 32 bytes. The caller fills it with zeros once it is done with it. */
  readonly plaintext: Buffer;
  readonly wrapped: WrappedDataKey;
}

/** What every KEK call carries. */
export interface KekCallOptions {
  /** Passed to the backend as its encryption context (KMS) or associated data (transit); `{}` for none. */
  readonly context: EncryptionContext;
  /** Aborts the backend call (the envelope's timeout). */
  readonly signal?: AbortSignal;
}

/**
 * A key-encryption key behind a key service: it makes, unwraps and re-wraps data keys and never
 * lets its own key material out. `localKek` (core), `awsKmsKek` (`@keyward/aws`) and
 * `vaultTransitKek` (`@keyward/vault`) implement it.
 *
 * Failures are `KeywardError`s with these codes, so the envelope can retry and report them alike:
 * - `KEK_UNAVAILABLE` (retryable): the backend is down, throttling, timing out or answering 5xx;
 * - `KEK_DISABLED`: the key or the version is disabled, pending deletion, or below the minimum
 *   decryption version;
 * - `DECRYPT_FAILED`: the wrapped key, its context or its version is not one this key accepts
 *   (tampered, wrong context, another key, unknown version): one code, no detail an attacker could
 *   use as an oracle;
 * - `PERMISSION_DENIED` or `CONFIG_INVALID`: the app may not use the key, or it does not exist.
 *
 * @example
 * const kek: KekProvider = localKek({ keys: () => store.get('envelope-kek').reveal() });
 * const { plaintext, wrapped } = await kek.generateDataKey({ context: { table: 'notes' } });
 */
export interface KekProvider {
  /** Written into envelopes; an envelope naming another provider is refused before any call. */
  readonly provider: string;
  /** The key this provider wraps new data keys under, as configured (an alias is fine). */
  readonly keyId: string;
  /** A new 32-byte data key and its wrapped form under the newest KEK version. */
  generateDataKey(options: KekCallOptions): Promise<GeneratedDataKey>;
  /** The data key in clear. Refuses (`DECRYPT_FAILED`) a wrapped key of a key it does not serve. */
  unwrapDataKey(wrapped: WrappedDataKey, options: KekCallOptions): Promise<Buffer>;
  /** The same data key wrapped under the newest KEK version, without it leaving the backend where the backend allows. */
  rewrapDataKey(wrapped: WrappedDataKey, options: KekCallOptions): Promise<WrappedDataKey>;
  /**
   * The newest KEK version, so a re-wrap skips envelopes already on it without touching them.
   * A provider may cache it briefly; `fresh: true` (which `rewrapAll` asks once at its start)
   * reads it from the backend and renews the cache.
   */
  currentVersion(options?: { readonly signal?: AbortSignal; readonly fresh?: boolean }): Promise<string>;
  /** Releases what the provider opened itself (a Vault connection made from options); whoever made the provider calls it. */
  close?(): Promise<void>;
}
