import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { KeywardError } from '../errors/index.js';
import { deadlineSignal, delay, untilAborted, withJitter } from '../util/concurrency.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { DataKeyCache, cacheLimits, type DataKeyCacheOptions } from './data-key-cache.js';
import { canonicalContext, frozenContext } from './encryption-context.js';
import { envelopeForm, formatEnvelope, IV_BYTES, parseEnvelope, TAG_BYTES, type EnvelopeJson, type EnvelopeParts, type SealedEnvelope } from './envelope-format.js';
import type { EncryptionContext, KekProvider, WrappedDataKey } from './kek-provider.js';
import { rewrapAll, type RewrapAllOptions, type RewrapItem, type RewrapSummary } from './rewrap-all.js';

/**
 * Options of {@link createEnvelope}.
 *
 * @example
 * createEnvelope({ kek: awsKmsKek({ client, keyId: 'alias/app' }), dataKeys: { cache: { maxAge: '5m', maxMessages: 1000 } } })
 */
export interface EnvelopeOptions {
  /** The key-encryption key: `localKek`, `awsKmsKek`, `vaultTransitKek` or your own `KekProvider`. */
  kek: KekProvider;
  /** Default: a fresh data key for every message and an unwrap for every read. `cache` reuses them within limits. */
  dataKeys?: { cache?: DataKeyCacheOptions };
  /** Each KEK call's time limit (default `'5s'`). */
  timeout?: Duration;
  /** Retries of a KEK call that failed with `KEK_UNAVAILABLE` (default 2), after 100 ms, 200 ms… with jitter. */
  retries?: number;
}

/** What `encrypt`, `decrypt` and `rewrap` take besides the envelope. */
export interface EnvelopeCallOptions {
  /** Bound to the envelope: decrypt and rewrap need the same pairs. Default `{}`. */
  context?: EncryptionContext;
  /** Cancels the call, KEK retries included. */
  signal?: AbortSignal;
}

/** `encrypt`'s options: the context, and the form of envelope to return. */
export interface EncryptOptions extends EnvelopeCallOptions {
  /** `'compact'` (default): a `kw1.…` string for a text column; `'json'`: an {@link EnvelopeJson}. */
  form?: 'compact' | 'json';
}

/**
 * Encrypts data at rest under data keys that a key-encryption key wraps (envelope encryption).
 * The same object serves Nest (injected) and Express (`app.locals`).
 *
 * @example
 * const sealed = await envelope.encrypt(webhookSecret, { context: { table: 'partners', id } });
 * const secret = await envelope.decryptText(sealed, { context: { table: 'partners', id } });
 */
export interface Envelope {
  /** The KEK this envelope wraps data keys with. */
  readonly kek: KekProvider;
  /** AES-256-GCM under a data key (fresh, or cached within limits), a random 96-bit IV, the context as additional data. */
  encrypt(plaintext: string | Uint8Array, options?: EncryptOptions & { form?: 'compact' }): Promise<string>;
  encrypt(plaintext: string | Uint8Array, options: EncryptOptions & { form: 'json' }): Promise<EnvelopeJson>;
  /** The plaintext bytes. `DECRYPT_FAILED` for a tampered or truncated envelope or a wrong context, with no detail. */
  decrypt(envelope: SealedEnvelope, options?: EnvelopeCallOptions): Promise<Buffer>;
  /** `decrypt` as UTF-8 text. */
  decryptText(envelope: SealedEnvelope, options?: EnvelopeCallOptions): Promise<string>;
  /**
   * The envelope with its data key wrapped under the KEK's newest version, in the form it came
   * in; the IV and ciphertext are the same bytes. An envelope already on the newest version comes
   * back as it is (the same object), after one fresh read of the version and no other KEK call.
   * `rewrapAll` reads the version fresh once per run, then trusts the provider's cache.
   */
  rewrap<E extends SealedEnvelope>(envelope: E, options?: EnvelopeCallOptions): Promise<E>;
  /** Re-wraps every envelope of `source` (any iterable), saving the changed ones; idempotent and resumable. See {@link RewrapAllOptions}. */
  rewrapAll<Id>(source: Iterable<RewrapItem<Id>> | AsyncIterable<RewrapItem<Id>>, options: RewrapAllOptions<Id>): Promise<RewrapSummary<Id>>;
  /** Wipes cached data keys and stops the cache's timer; the envelope goes on without a cache. The KEK is its creator's to close. */
  close(): void;
}

const DEK_BYTES = 32;
const DECRYPT_FAILED = 'the envelope could not be decrypted';
const BACKOFF_MS = 100;

/**
 * Envelope encryption for fields stored at rest: each message is encrypted with AES-256-GCM under
 * a 256-bit data key, and the data key is stored wrapped by a key-encryption key (KEK) that never
 * leaves its key service. Rotating the KEK means re-wrapping data keys (`rewrap`, `rewrapAll`),
 * never re-encrypting data. Errors: `DECRYPT_FAILED`, `KEK_UNAVAILABLE` (after retries),
 * `KEK_DISABLED`, `ENVELOPE_MALFORMED`, `ENVELOPE_VERSION`; none ever holds plaintext or a key.
 *
 * @example
 * const envelope = createEnvelope({ kek: localKek({ keys: () => store.get('envelope-kek').reveal() }) });
 * const sealed = await envelope.encrypt('sk_live_partner_token', { context: { table: 'partners', id: '7' } });
 * await envelope.decryptText(sealed, { context: { table: 'partners', id: '7' } }); // 'sk_live_partner_token'
 */
export function createEnvelope(options: EnvelopeOptions): Envelope {
  const kek = options?.kek;
  if (typeof kek?.generateDataKey !== 'function' || typeof kek.unwrapDataKey !== 'function' || typeof kek.rewrapDataKey !== 'function') {
    throw new KeywardError('CONFIG_INVALID', 'createEnvelope needs a kek (localKek, awsKmsKek, vaultTransitKek or a KekProvider)');
  }
  const timeoutMs = parseDuration(options.timeout ?? '5s', 'envelope timeout');
  const retries = options.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 10) throw new KeywardError('CONFIG_INVALID', 'envelope retries must be an integer from 0 to 10');
  const limits = options.dataKeys?.cache === undefined ? undefined : cacheLimits(options.dataKeys.cache);
  const encryptCache = limits && new DataKeyCache<WrappedDataKey>(limits);
  // Message and byte limits bound how much one key encrypts; reading is bounded by age alone, as in the AWS Encryption SDK.
  const decryptCache = limits && new DataKeyCache<undefined>({ ...limits, maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER });

  const call = async <R>(what: string, task: (signal: AbortSignal) => Promise<R>, signal?: AbortSignal): Promise<R> => {
    for (let attempt = 0; ; attempt++) {
      // One per KEK call, which may be one per message: its timer and listener go as soon as the call settles.
      const deadline = deadlineSignal(timeoutMs, signal);
      try {
        return await untilAborted(task(deadline.signal), deadline.signal);
      } catch (err) {
        const error = kekError(err, what, kek, signal, deadline.timedOut, timeoutMs);
        deadline.done();
        if (!error.retryable || attempt >= retries || signal?.aborted) throw error;
        await delay(withJitter(BACKOFF_MS * 2 ** attempt, 0.2), signal).catch(() => {
          throw error;
        });
      } finally {
        deadline.done();
      }
    }
  };

  const generate = async (context: EncryptionContext, signal?: AbortSignal) => {
    const generated = await call('generate a data key', (s) => kek.generateDataKey({ context, signal: s }), signal);
    if (!Buffer.isBuffer(generated?.plaintext) || generated.plaintext.length !== DEK_BYTES || generated.wrapped?.provider !== kek.provider) {
      generated?.plaintext?.fill?.(0);
      throw new KeywardError('CONFIG_INVALID', `KEK provider "${kek.provider}" returned no 32-byte data key wrapped under its own name`);
    }
    return generated;
  };

  const unwrap = (parts: EnvelopeParts, context: EncryptionContext, signal?: AbortSignal): Promise<Buffer> =>
    call('unwrap a data key', (s) => kek.unwrapDataKey({ ...parts.kek, wrapped: parts.wrappedKey }, { context, signal: s }), signal);

  const checkProvider = (parts: EnvelopeParts): void => {
    if (parts.kek.provider !== kek.provider) {
      throw new KeywardError('DECRYPT_FAILED', `${DECRYPT_FAILED}: it names KEK provider "${parts.kek.provider}", this envelope uses "${kek.provider}"`);
    }
  };

  async function encrypt(plaintext: string | Uint8Array, callOptions: EncryptOptions = {}): Promise<SealedEnvelope> {
    const data = bytesOf(plaintext);
    const context = frozenContext(callOptions.context);
    const canonical = canonicalContext(context);
    const form = callOptions.form ?? 'compact';
    if (form !== 'compact' && form !== 'json') throw new KeywardError('CONFIG_INVALID', `envelope form must be 'compact' or 'json'`);
    const seal = (dataKey: Buffer, wrapped: WrappedDataKey): SealedEnvelope => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      cipher.setAAD(additionalData(canonical));
      const ciphertext = Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
      const parts = { kek: wrapped, wrappedKey: Buffer.from(wrapped.wrapped), iv, ciphertext };
      return form === 'json' ? formatEnvelope(parts, 'json') : formatEnvelope(parts, 'compact');
    };
    if (encryptCache === undefined || encryptCache.bypasses(data.length)) {
      const { plaintext: dataKey, wrapped } = await generate(context, callOptions.signal);
      try {
        return seal(dataKey, wrapped);
      } finally {
        dataKey.fill(0);
      }
    }
    return encryptCache.with(
      canonical,
      data.length,
      async () => {
        const { plaintext: dataKey, wrapped } = await generate(context, callOptions.signal);
        return { dataKey, extra: wrapped };
      },
      seal,
    );
  }

  async function decrypt(envelope: SealedEnvelope, callOptions: EnvelopeCallOptions = {}): Promise<Buffer> {
    const parts = parseEnvelope(envelope);
    checkProvider(parts);
    const context = frozenContext(callOptions.context);
    const canonical = canonicalContext(context);
    const open = (dataKey: Buffer): Buffer => {
      try {
        const decipher = createDecipheriv('aes-256-gcm', dataKey, parts.iv);
        decipher.setAAD(additionalData(canonical));
        decipher.setAuthTag(parts.ciphertext.subarray(parts.ciphertext.length - TAG_BYTES));
        return Buffer.concat([decipher.update(parts.ciphertext.subarray(0, parts.ciphertext.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new KeywardError('DECRYPT_FAILED', DECRYPT_FAILED);
      }
    };
    if (decryptCache === undefined) {
      const dataKey = await unwrap(parts, context, callOptions.signal);
      try {
        return open(dataKey);
      } finally {
        dataKey.fill(0);
      }
    }
    const partition = createHash('sha256')
      .update(JSON.stringify([parts.kek.provider, parts.kek.keyId, parts.kek.keyVersion, canonical]))
      .update(parts.wrappedKey)
      .digest('base64url');
    return decryptCache.with(partition, 0, async () => ({ dataKey: await unwrap(parts, context, callOptions.signal), extra: undefined }), open);
  }

  async function rewrap<E extends SealedEnvelope>(envelope: E, callOptions: EnvelopeCallOptions = {}, fresh = true): Promise<E> {
    const parts = parseEnvelope(envelope);
    checkProvider(parts);
    const context = frozenContext(callOptions.context);
    canonicalContext(context);
    const current = await call('read the current KEK version', (s) => kek.currentVersion({ signal: s, fresh }), callOptions.signal);
    if (parts.kek.keyVersion === current) return envelope;
    const wrapped = await call('re-wrap a data key', (s) => kek.rewrapDataKey({ ...parts.kek, wrapped: parts.wrappedKey }, { context, signal: s }), callOptions.signal);
    const next = { ...parts, kek: wrapped, wrappedKey: Buffer.from(wrapped.wrapped) };
    return (envelopeForm(envelope) === 'json' ? formatEnvelope(next, 'json') : formatEnvelope(next, 'compact')) as E;
  }

  const envelope: Envelope = {
    kek,
    encrypt: encrypt as Envelope['encrypt'],
    decrypt,
    async decryptText(sealed, callOptions) {
      return (await decrypt(sealed, callOptions)).toString('utf8');
    },
    rewrap: (sealed, callOptions) => rewrap(sealed, callOptions),
    async rewrapAll(source, rewrapOptions) {
      // Right after a rotation a provider's cached version may still name the old one: read it
      // fresh once, then let each envelope use the cache that read renewed.
      await call('read the current KEK version', (s) => kek.currentVersion({ signal: s, fresh: true }), rewrapOptions?.signal);
      return rewrapAll(source, (item, signal) => rewrap(item.envelope, { context: item.context, signal }, false), rewrapOptions);
    },
    close() {
      encryptCache?.close();
      decryptCache?.close();
    },
  };
  return envelope;
}

/** The data's additional data: the format version and the context, nothing that a re-wrap changes. */
function additionalData(canonical: string): Buffer {
  return Buffer.from(`kw1\n${canonical}`, 'utf8');
}

function bytesOf(plaintext: string | Uint8Array): Uint8Array {
  if (typeof plaintext === 'string') return Buffer.from(plaintext, 'utf8');
  if (plaintext instanceof Uint8Array) return plaintext;
  throw new KeywardError('CONFIG_INVALID', 'envelope.encrypt takes a string or bytes');
}

const PASSED_THROUGH = new Set(['KEK_UNAVAILABLE', 'KEK_DISABLED', 'DECRYPT_FAILED', 'PERMISSION_DENIED', 'CONFIG_INVALID']);

/** Whatever a KEK call threw, as one of the envelope's codes; aborts and foreign errors become `KEK_UNAVAILABLE`. */
function kekError(err: unknown, what: string, kek: KekProvider, signal: AbortSignal | undefined, timedOut: boolean, timeoutMs: number): KeywardError {
  if (KeywardError.is(err) && PASSED_THROUGH.has(err.code)) return err;
  const where = `KEK "${kek.provider}" (${kek.keyId})`;
  if (signal?.aborted) return new KeywardError('KEK_UNAVAILABLE', `${where}: the call to ${what} was aborted`, { cause: err, retryable: false });
  if (timedOut) return new KeywardError('KEK_UNAVAILABLE', `${where}: no answer within ${timeoutMs} ms to ${what}`, { cause: err });
  return new KeywardError('KEK_UNAVAILABLE', `${where}: could not ${what}`, { cause: err });
}
