import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, ReEncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { KeywardError, parseDuration, type Duration, type EncryptionContext, type GeneratedDataKey, type KekProvider, type WrappedDataKey } from '@keyward/core';
import { abandoned, kmsKekError, REJECTED } from './kms-kek-errors.js';

/**
 * Options of {@link awsKmsKek}.
 *
 * @example
 * { client: new KMSClient({ region: 'eu-west-1' }), keyId: 'alias/billing-envelopes' }
 */
export interface AwsKmsKekOptions {
  /** The KMS client to call (its region, credentials, retries and timeouts are yours; never destroyed by Keyward). */
  readonly client: KMSClient;
  /** The symmetric encryption KMS key: key ID, key ARN, alias name (`alias/...`) or alias ARN. */
  readonly keyId: string;
  /**
   * How long `currentVersion()` trusts the key material ID it last saw before asking `DescribeKey`
   * again (default `'5s'`), so that re-wrapping many envelopes does not cost a DescribeKey each. A
   * rotation made in KMS shows within this time; one seen in a GenerateDataKey or ReEncrypt answer
   * shows at once. `0` asks on every call (a one-shot process that rotates, then re-wraps).
   */
  readonly currentVersionMaxAge?: Duration;
}

const PROVIDER = 'aws-kms';
const DATA_KEY_BYTES = 32;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

interface Described {
  readonly arn: string;
  readonly version: string;
}

/**
 * A key-encryption key in AWS KMS: data keys come from `GenerateDataKey` (AES_256), are unwrapped
 * with `Decrypt` and moved to the newest key material with `ReEncrypt`, in KMS, each call with the
 * envelope's encryption context. Envelopes record the key ARN KMS answered with and the key
 * material ID (`KeyMaterialId`) as the version. An alias is resolved once (`DescribeKey`) and
 * envelopes of any other key are refused without a call (`DECRYPT_FAILED`): after pointing the
 * alias at another key, envelopes of the old one need a provider configured with the old key.
 * `currentVersion()` is DescribeKey's `CurrentKeyMaterialId`, trusted for `currentVersionMaxAge`.
 *
 * Errors: InvalidCiphertextException and IncorrectKeyException are `DECRYPT_FAILED` (one message);
 * DisabledException and KMSInvalidStateException (disabled, pending deletion) `KEK_DISABLED`;
 * NotFoundException `CONFIG_INVALID`; AccessDeniedException `PERMISSION_DENIED`; throttling, KMS's
 * 5xx, network failures and timeouts `KEK_UNAVAILABLE` (retryable). Plaintext data keys never reach
 * an error; the SDK's copy of one is zeroed as soon as it is copied.
 *
 * Key policy: `kms:GenerateDataKey`, `kms:Decrypt`, `kms:ReEncryptFrom`, `kms:ReEncryptTo` and
 * `kms:DescribeKey` on the key.
 *
 * @example
 * const kek = awsKmsKek({ client: new KMSClient({ region: 'eu-west-1' }), keyId: 'alias/billing-envelopes' });
 * const { plaintext, wrapped } = await kek.generateDataKey({ context: { table: 'notes', id: '42' } });
 */
export function awsKmsKek(options: AwsKmsKekOptions): KekProvider {
  const { client, keyId } = options;
  if (typeof keyId !== 'string' || keyId.trim() === '') throw new KeywardError('CONFIG_INVALID', 'awsKmsKek: keyId must be a key ID, key ARN, alias name or alias ARN');
  if (typeof client?.send !== 'function') throw new KeywardError('CONFIG_INVALID', `awsKmsKek "${keyId}": client must be a KMSClient`);
  const maxAgeMs = parseDuration(options.currentVersionMaxAge ?? '5s', 'awsKmsKek currentVersionMaxAge');
  /** The configured key's ARN, once known: given, or learnt from KMS's answers for `keyId`. */
  let keyArn = KEY_ARN.test(keyId) ? keyId : undefined;
  /** The newest key material ID seen, and when. */
  let latest: { readonly version: string; readonly at: number } | undefined;
  let describing: Promise<Described> | undefined;

  /** KMS's answers for `keyId` say which key it is now (an alias may have been pointed elsewhere) and its current material. */
  const learn = (arn: string, version: string): void => {
    keyArn = arn;
    latest = { version, at: Date.now() };
  };

  /** One DescribeKey at a time, shared by concurrent callers; each stops waiting when its own signal aborts. */
  const describe = (signal: AbortSignal | undefined): Promise<Described> => {
    describing ??= client
      .send(new DescribeKeyCommand({ KeyId: keyId }))
      .then(
        (out) => {
          const arn = out.KeyMetadata?.Arn;
          const version = out.KeyMetadata?.CurrentKeyMaterialId;
          if (arn === undefined || version === undefined) throw missingField('DescribeKey', arn === undefined ? 'KeyMetadata.Arn' : 'KeyMetadata.CurrentKeyMaterialId');
          learn(arn, version);
          return { arn, version };
        },
        (err: unknown) => {
          throw kmsKekError(err, 'DescribeKey', keyId);
        },
      )
      .finally(() => {
        describing = undefined;
      });
    return untilAborted(describing, signal, 'DescribeKey', keyId);
  };

  /** Refuses, before any call, an envelope this key did not wrap. */
  const checkEnvelope = async (wrapped: WrappedDataKey, signal: AbortSignal | undefined): Promise<void> => {
    if (wrapped.provider !== PROVIDER || typeof wrapped.keyId !== 'string') throw new KeywardError('DECRYPT_FAILED', REJECTED);
    const arn = keyArn ?? (await describe(signal)).arn;
    if (wrapped.keyId !== arn) throw new KeywardError('DECRYPT_FAILED', REJECTED);
  };

  /** Sends with the call's signal; anything thrown becomes a KeywardError holding only AWS's error name, status and message. */
  const send = async <T>(operation: string, call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
    if (signal?.aborted) throw abandoned(operation, keyId, signal);
    try {
      return await call();
    } catch (err) {
      throw kmsKekError(err, operation, keyId, signal);
    }
  };

  return {
    provider: PROVIDER,
    keyId,

    async generateDataKey({ context, signal }): Promise<GeneratedDataKey> {
      const out = await send('GenerateDataKey', () => client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', ...contextOf(context) }), { abortSignal: signal }), signal);
      const plaintext = takePlaintext(out.Plaintext);
      if (plaintext.length !== DATA_KEY_BYTES || out.CiphertextBlob === undefined || out.KeyId === undefined || out.KeyMaterialId === undefined) {
        plaintext.fill(0);
        throw missingField('GenerateDataKey', out.KeyMaterialId === undefined ? 'KeyMaterialId' : 'a 32-byte Plaintext, CiphertextBlob and KeyId');
      }
      learn(out.KeyId, out.KeyMaterialId);
      return { plaintext, wrapped: { provider: PROVIDER, keyId: out.KeyId, keyVersion: out.KeyMaterialId, wrapped: out.CiphertextBlob } };
    },

    async unwrapDataKey(wrapped, { context, signal }): Promise<Buffer> {
      await checkEnvelope(wrapped, signal);
      const out = await send(
        'Decrypt',
        () => client.send(new DecryptCommand({ CiphertextBlob: wrapped.wrapped, KeyId: wrapped.keyId, ...contextOf(context) }), { abortSignal: signal }),
        signal,
      );
      const plaintext = takePlaintext(out.Plaintext);
      // KMS decrypted something, but not a data key of this envelope: its size, key or key material differ.
      if (plaintext.length !== DATA_KEY_BYTES || out.KeyId !== wrapped.keyId || (out.KeyMaterialId !== undefined && out.KeyMaterialId !== wrapped.keyVersion)) {
        plaintext.fill(0);
        throw new KeywardError('DECRYPT_FAILED', REJECTED);
      }
      return plaintext;
    },

    async rewrapDataKey(wrapped, { context, signal }): Promise<WrappedDataKey> {
      await checkEnvelope(wrapped, signal);
      const bound = contextOf(context).EncryptionContext;
      const out = await send(
        'ReEncrypt',
        () =>
          client.send(
            new ReEncryptCommand({
              CiphertextBlob: wrapped.wrapped,
              SourceKeyId: wrapped.keyId,
              DestinationKeyId: keyId,
              ...(bound === undefined ? {} : { SourceEncryptionContext: bound, DestinationEncryptionContext: bound }),
            }),
            { abortSignal: signal },
          ),
        signal,
      );
      if (out.CiphertextBlob === undefined || out.KeyId === undefined || out.DestinationKeyMaterialId === undefined) {
        throw missingField('ReEncrypt', out.DestinationKeyMaterialId === undefined ? 'DestinationKeyMaterialId' : 'CiphertextBlob and KeyId');
      }
      learn(out.KeyId, out.DestinationKeyMaterialId);
      return { provider: PROVIDER, keyId: out.KeyId, keyVersion: out.DestinationKeyMaterialId, wrapped: out.CiphertextBlob };
    },

    /** `fresh: true` (rewrapAll's first question) skips what was seen and asks DescribeKey. */
    async currentVersion(callOptions: { readonly signal?: AbortSignal; readonly fresh?: boolean } = {}): Promise<string> {
      if (callOptions.fresh !== true && latest !== undefined && Date.now() - latest.at < maxAgeMs) return latest.version;
      return (await describe(callOptions.signal)).version;
    },
  };
}

/** KMS's EncryptionContext: the pairs, or nothing at all for `{}` (the same to KMS). */
function contextOf(context: EncryptionContext): { EncryptionContext?: Record<string, string> } {
  return Object.keys(context).length === 0 ? {} : { EncryptionContext: { ...context } };
}

/** The data key in a Buffer of our own; the SDK's array is zeroed so no other copy outlives this call. */
function takePlaintext(bytes: Uint8Array | undefined): Buffer {
  if (bytes === undefined) return Buffer.alloc(0);
  const copy = Buffer.from(bytes);
  bytes.fill(0);
  return copy;
}

function missingField(operation: string, field: string): KeywardError {
  return new KeywardError('CONFIG_INVALID', `KMS answered ${operation} without ${field}: awsKmsKek needs a KMS endpoint that reports key material IDs (AWS KMS does since 2025)`);
}

/** Waits for a shared answer until the caller's own signal aborts. */
function untilAborted<T>(answer: Promise<T>, signal: AbortSignal | undefined, operation: string, keyId: string): Promise<T> {
  if (signal === undefined) return answer;
  if (signal.aborted) return Promise.reject(abandoned(operation, keyId, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abandoned(operation, keyId, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
