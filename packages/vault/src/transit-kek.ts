import { canonicalContext, KeywardError, parseDuration, type Duration, type EncryptionContext, type GeneratedDataKey, type KekProvider, type WrappedDataKey } from '@keyward/core';
import { connectionFor } from './provider-connection.js';
import type { VaultConnectionChoice } from './vault-connection.js';
import { encodePath } from './vault-path.js';

/**
 * Options of {@link vaultTransitKek}: a connection (or its options), the transit key, its mount.
 *
 * @example { connection: vault, key: 'app' }
 */
export type VaultTransitKekOptions = VaultConnectionChoice & {
  /** The transit key's name. It must be a derived key: `vault write transit/keys/app derived=true`. */
  readonly key: string;
  /** Where the transit engine is mounted (default `transit`). */
  readonly mount?: string;
  /**
   * How long `currentVersion()` trusts the key's `latest_version` before reading it again
   * (default `'5s'`). A rotation made in Vault shows within this time; one seen in a datakey or
   * rewrap answer shows at once. `0` reads it on every call.
   */
  readonly currentVersionMaxAge?: Duration;
};

/**
 * A `KekProvider` (from `@keyward/core`) over a Vault transit key, with `close()` for the
 * connection it opened.
 *
 * @example
 * const kek: VaultTransitKek = vaultTransitKek({ connection: vault, key: 'app' });
 * await kek.close(); // closes nothing when the connection is shared
 */
export interface VaultTransitKek extends KekProvider {
  /** Written into every envelope this KEK wraps a data key for. */
  readonly provider: 'vault-transit';
  /** Closes the connection when this KEK opened it from connection options; a shared connection stays open. */
  close(): Promise<void>;
}

interface TransitAnswer {
  readonly data?: { readonly ciphertext?: unknown; readonly plaintext?: unknown; readonly key_version?: unknown } | null;
  readonly errors?: unknown;
}

interface KeyAnswer {
  readonly data?: { readonly latest_version?: unknown; readonly derived?: unknown } | null;
}

const PROVIDER = 'vault-transit';
const DATA_KEY_BYTES = 32;
const CIPHERTEXT = /^vault:v([1-9]\d{0,9}):[A-Za-z0-9+/]+={0,2}$/;
const REJECTED = 'the data key could not be unwrapped';
const TOO_OLD = /disallowed by policy \(too old\)/;
const NO_KEY = /encryption key not found/;

/**
 * A key-encryption key in Vault's transit engine: data keys come from
 * `transit/datakey/plaintext/<key>` (256 bits), open with `transit/decrypt/<key>`, and move to the
 * newest key version with `transit/rewrap/<key>` without leaving Vault. The wrapped key is the
 * `vault:v<N>:…` ciphertext (as UTF-8 bytes) and its version is N.
 *
 * The encryption context is bound as transit's key-derivation `context` (its canonical JSON,
 * base64), because that is the one input the datakey, decrypt and rewrap endpoints all take:
 * `associated_data` exists on encrypt and decrypt only, so a data key from datakey could not carry
 * it and rewrap could not open it. Vault ignores `context` on a key that is not derived, so this KEK
 * reads the key once and refuses (`CONFIG_INVALID`) one created without `derived=true`.
 *
 * Codes: Vault down, sealed, timing out or 5xx → `KEK_UNAVAILABLE` (retryable); a version below
 * `min_decryption_version` → `KEK_DISABLED`; a tampered or foreign wrapped key, a wrong context,
 * another key or an unknown version → `DECRYPT_FAILED` with one fixed message and no cause; 403 →
 * `PERMISSION_DENIED`; no such key or engine → `CONFIG_INVALID`. The token needs `update` on
 * `<mount>/datakey/plaintext/<key>`, `<mount>/decrypt/<key>` and `<mount>/rewrap/<key>`, and `read`
 * on `<mount>/keys/<key>` (derivation check, `currentVersion`). Vault's JSON answer holds the data
 * key in base64 until it is garbage collected; the Buffer returned is the caller's to wipe.
 *
 * @example
 * const vault = createVaultConnection({ endpoint: 'https://vault:8200', auth: kubernetesAuth({ role: 'billing' }) });
 * const envelope = createEnvelope({ kek: vaultTransitKek({ connection: vault, key: 'billing' }) });
 * const sealed = await envelope.encrypt(iban, { context: { table: 'accounts', id } });
 */
export function vaultTransitKek(options: VaultTransitKekOptions): VaultTransitKek {
  const key = options.key;
  if (typeof key !== 'string' || !/^\w(?:[\w.@-]*\w)?$/.test(key)) {
    throw new KeywardError('CONFIG_INVALID', 'vaultTransitKek needs `key`: the name of a transit key (letters, digits, _ . @ -)');
  }
  const mount = encodePath(options.mount ?? 'transit', 'vaultTransitKek mount');
  if (mount === '') throw new KeywardError('CONFIG_INVALID', 'vaultTransitKek mount is empty');
  const maxAgeMs = parseDuration(options.currentVersionMaxAge ?? '5s', 'vaultTransitKek currentVersionMaxAge');
  const { connection, owned } = connectionFor(options);
  const where = `transit key "${key}" (${mount}/keys/${key})`;
  let latest: { version: number; at: number } | undefined;
  let derived = false;

  /** Any datakey or rewrap answer names the latest version at that moment, as good as a read. */
  const noteVersion = (version: number) => {
    if (latest === undefined || version >= latest.version) latest = { version, at: Date.now() };
  };

  const failure = (err: unknown): KeywardError => {
    if (!KeywardError.is(err)) return new KeywardError('KEK_UNAVAILABLE', `${where}: the Vault call failed`, { cause: err });
    if (err.code === 'PERMISSION_DENIED' || err.code === 'CONFIG_INVALID') return err;
    if (err.code === 'SECRET_NOT_FOUND') return new KeywardError('CONFIG_INVALID', `${where}: Vault has no such transit key or engine (404)`, { cause: err.cause });
    return new KeywardError('KEK_UNAVAILABLE', err.detail, { cause: err.cause, retryable: err.retryable });
  };

  async function readKey(signal: AbortSignal | undefined): Promise<number> {
    const request = { method: 'GET' as const, path: `${mount}/keys/${key}`, doing: 'transit key read', ...(signal ? { signal } : {}) };
    const { body } = await connection.request<KeyAnswer | undefined>(request).catch((err: unknown) => {
      throw failure(err);
    });
    const version = body?.data?.latest_version;
    if (typeof version !== 'number') throw new KeywardError('CONFIG_INVALID', `${where}: Vault's answer is not a transit key (is ${mount} a transit engine?)`);
    if (body?.data?.derived !== true) {
      throw new KeywardError('CONFIG_INVALID', `${where} is not a derived key, so Vault would ignore the encryption context; create one with derived=true`);
    }
    derived = true;
    noteVersion(version);
    return version;
  }

  /** One transit call; its 400 answers become the KEK's codes here, where Vault's text is seen and dropped. */
  async function transit(operation: 'datakey/plaintext' | 'decrypt' | 'rewrap', body: object, signal: AbortSignal | undefined) {
    // Derivation is fixed when a key is created: one read settles it for this provider's life.
    if (!derived) await readKey(signal);
    const request = { method: 'POST' as const, path: `${mount}/${operation}/${key}`, body, accept: [400], doing: `transit ${operation}`, ...(signal ? { signal } : {}) };
    const answer = await connection.request<TransitAnswer | undefined>(request).catch((err: unknown) => {
      throw failure(err);
    });
    if (answer.status !== 400) return answer.body?.data ?? {};
    const errors = Array.isArray(answer.body?.errors) ? answer.body.errors.filter((e): e is string => typeof e === 'string') : [];
    if (errors.some((e) => NO_KEY.test(e))) throw new KeywardError('CONFIG_INVALID', `${where}: Vault has no such key`);
    if (operation === 'datakey/plaintext') {
      throw new KeywardError('CONFIG_INVALID', `${where}: Vault refused the data key request (400): ${errors.join('; ').slice(0, 300)}`);
    }
    if (errors.some((e) => TOO_OLD.test(e))) throw new KeywardError('KEK_DISABLED', `${where}: the data key's version is below the key's min_decryption_version`);
    throw rejected();
  }

  /** The `vault:v<N>:…` text of a wrapped key this KEK serves, or DECRYPT_FAILED before any call. */
  const ciphertextOf = (wrapped: WrappedDataKey): string => {
    if (wrapped.provider !== PROVIDER || wrapped.keyId !== key || !(wrapped.wrapped instanceof Uint8Array)) throw rejected();
    const text = Buffer.from(wrapped.wrapped).toString('utf8');
    const match = CIPHERTEXT.exec(text);
    if (!match || match[1] !== wrapped.keyVersion) throw rejected();
    return text;
  };

  const wrappedFrom = (ciphertext: unknown): WrappedDataKey => {
    const match = typeof ciphertext === 'string' ? CIPHERTEXT.exec(ciphertext) : null;
    if (!match) throw new KeywardError('CONFIG_INVALID', `${where}: Vault's answer has no transit ciphertext`);
    noteVersion(Number(match[1]));
    return { provider: PROVIDER, keyId: key, keyVersion: match[1]!, wrapped: Buffer.from(ciphertext as string, 'utf8') };
  };

  return {
    provider: PROVIDER,
    keyId: key,
    async generateDataKey({ context, signal }): Promise<GeneratedDataKey> {
      const data = await transit('datakey/plaintext', { bits: 256, context: contextField(context) }, signal);
      const wrapped = wrappedFrom(data.ciphertext);
      const plaintext = typeof data.plaintext === 'string' ? Buffer.from(data.plaintext, 'base64') : undefined;
      if (plaintext?.length !== DATA_KEY_BYTES) {
        plaintext?.fill(0);
        throw new KeywardError('CONFIG_INVALID', `${where}: Vault's answer has no ${DATA_KEY_BYTES}-byte data key`);
      }
      return { plaintext, wrapped };
    },
    async unwrapDataKey(wrapped, { context, signal }): Promise<Buffer> {
      const ciphertext = ciphertextOf(wrapped);
      const data = await transit('decrypt', { ciphertext, context: contextField(context) }, signal);
      const plaintext = typeof data.plaintext === 'string' ? Buffer.from(data.plaintext, 'base64') : undefined;
      if (plaintext?.length !== DATA_KEY_BYTES) {
        plaintext?.fill(0);
        throw rejected();
      }
      return plaintext;
    },
    async rewrapDataKey(wrapped, { context, signal }): Promise<WrappedDataKey> {
      const ciphertext = ciphertextOf(wrapped);
      const data = await transit('rewrap', { ciphertext, context: contextField(context) }, signal);
      return wrappedFrom(data.ciphertext);
    },
    async currentVersion(callOptions = {}): Promise<string> {
      if (latest !== undefined && callOptions.fresh !== true && Date.now() - latest.at < maxAgeMs) return String(latest.version);
      return String(await readKey(callOptions.signal));
    },
    close: () => (owned ? connection.close() : Promise.resolve()),
  };
}

/** One message for every wrapped key refused, so that failures tell an attacker nothing. */
function rejected(): KeywardError {
  return new KeywardError('DECRYPT_FAILED', REJECTED);
}

/**
 * The context as transit's derivation `context`: the pairs sorted by key, JSON-encoded, base64.
 * Never empty (`[]` for none), so a derived key always gets one; the same pairs in any order give
 * the same derived key.
 */
function contextField(context: EncryptionContext | undefined): string {
  return Buffer.from(canonicalContext(context), 'utf8').toString('base64');
}
