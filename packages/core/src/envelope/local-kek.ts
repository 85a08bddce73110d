import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeywardError } from '../errors/index.js';
import type { RawSecretValue } from '../secret/secret.js';
import { canonicalContext } from './encryption-context.js';
import type { GeneratedDataKey, KekCallOptions, KekProvider, WrappedDataKey } from './kek-provider.js';

/**
 * The versioned key set of a local KEK, as a declared secret holds it: version numbers to
 * base64 (or base64url) 32-byte keys, and optionally `min_decryption_version`. The highest version
 * wraps new data keys; lower ones still unwrap until `min_decryption_version` passes them.
 *
 * @example
 * { "1": "q1m…=", "2": "Zp7…=", "min_decryption_version": "2" }
 */
export type LocalKeySet = Readonly<Record<string, string>>;

/**
 * Options of {@link localKek}.
 *
 * @example
 * localKek({ keyId: 'app', keys: () => store.get('envelope-kek').reveal() })
 */
export interface LocalKekOptions {
  /** The key's name written into envelopes (default `local`). */
  keyId?: string;
  /**
   * The key set, or a function returning it (read on every call, so a rotated secret takes
   * effect at once). A JSON string of the same shape works too.
   */
  keys: RawSecretValue | (() => RawSecretValue);
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
const REJECTED = 'the data key could not be unwrapped';

interface ParsedKeySet {
  readonly source: RawSecretValue;
  readonly versions: ReadonlyMap<number, Buffer>;
  readonly latest: number;
  readonly minDecryption: number;
}

/**
 * A KEK kept in the app's own secrets, for development, tests and apps without a key service:
 * data keys are wrapped with AES-256-GCM under the newest version of a key set read from a
 * declared secret, with the key id, version and encryption context as additional data. To rotate,
 * add a higher version to the secret; to retire a version, raise `min_decryption_version`
 * (envelopes still on it then fail with `KEK_DISABLED`). The KEK lives in the process, so prefer
 * `awsKmsKek` or `vaultTransitKek` in production.
 *
 * @example
 * const envelope = createEnvelope({ kek: localKek({ keys: () => store.get('envelope-kek').reveal() }) });
 */
export function localKek(options: LocalKekOptions): KekProvider {
  const keyId = options.keyId ?? 'local';
  if (typeof keyId !== 'string' || keyId.length === 0) throw new KeywardError('CONFIG_INVALID', 'localKek: keyId must be a non-empty string');
  const read = typeof options.keys === 'function' ? options.keys : () => options.keys as RawSecretValue;
  let parsed: ParsedKeySet | undefined;
  const keySet = (): ParsedKeySet => {
    const source = read();
    if (parsed === undefined || !sameSource(parsed.source, source)) parsed = parseKeySet(source, keyId);
    return parsed;
  };

  const wrap = (dataKey: Buffer, context: KekCallOptions['context']): WrappedDataKey => {
    const set = keySet();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', set.versions.get(set.latest)!, iv);
    cipher.setAAD(additionalData(keyId, set.latest, context));
    const wrapped = Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return { provider: 'local', keyId, keyVersion: String(set.latest), wrapped };
  };

  const unwrap = (wrapped: WrappedDataKey, context: KekCallOptions['context']): Buffer => {
    const set = keySet();
    const version = /^[1-9]\d{0,8}$/.test(wrapped.keyVersion) ? Number(wrapped.keyVersion) : undefined;
    if (wrapped.keyId !== keyId || version === undefined || wrapped.wrapped.length !== WRAPPED_BYTES) {
      throw new KeywardError('DECRYPT_FAILED', REJECTED);
    }
    const key = set.versions.get(version);
    if (key === undefined) throw new KeywardError('DECRYPT_FAILED', REJECTED);
    if (version < set.minDecryption) {
      throw new KeywardError('KEK_DISABLED', `version ${version} of local key "${keyId}" is below its min_decryption_version (${set.minDecryption})`);
    }
    const bytes = Buffer.from(wrapped.wrapped);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(additionalData(keyId, version, context));
      decipher.setAuthTag(bytes.subarray(IV_BYTES + KEY_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, IV_BYTES + KEY_BYTES)), decipher.final()]);
    } catch {
      throw new KeywardError('DECRYPT_FAILED', REJECTED);
    }
  };

  return {
    provider: 'local',
    keyId,
    async generateDataKey({ context }): Promise<GeneratedDataKey> {
      const plaintext = randomBytes(KEY_BYTES);
      return { plaintext, wrapped: wrap(plaintext, context) };
    },
    async unwrapDataKey(wrapped, { context }) {
      return unwrap(wrapped, context);
    },
    async rewrapDataKey(wrapped, { context }) {
      const dataKey = unwrap(wrapped, context);
      try {
        return wrap(dataKey, context);
      } finally {
        dataKey.fill(0);
      }
    },
    async currentVersion() {
      return String(keySet().latest);
    },
  };
}

/** Binds the key's name and version too, so a wrapped key moved to another key or version fails. */
function additionalData(keyId: string, version: number, context: KekCallOptions['context']): Buffer {
  return Buffer.from(`keyward.local-kek\n${keyId}\n${version}\n${canonicalContext(context)}`, 'utf8');
}

function sameSource(a: RawSecretValue, b: RawSecretValue): boolean {
  return a === b;
}

function parseKeySet(source: RawSecretValue, keyId: string): ParsedKeySet {
  const invalid = (detail: string) => new KeywardError('CONFIG_INVALID', `localKek "${keyId}": ${detail}`);
  let record: unknown = source;
  if (typeof source === 'string') {
    try {
      record = JSON.parse(source);
    } catch {
      throw invalid('the key set is not JSON (expected {"1": "<base64 32-byte key>", ...})');
    }
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw invalid('the key set is not an object of versions');
  const versions = new Map<number, Buffer>();
  let minDecryption = 1;
  for (const [name, value] of Object.entries(record)) {
    if (name === 'min_decryption_version') {
      const min = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(min) || min < 1) throw invalid('min_decryption_version is not a positive integer');
      minDecryption = min;
      continue;
    }
    if (!/^[1-9]\d{0,8}$/.test(name)) throw invalid(`"${name}" is not a version number`);
    const key = typeof value === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
    if (key?.length !== KEY_BYTES) throw invalid(`version ${name} is not a base64 ${KEY_BYTES}-byte key`);
    versions.set(Number(name), key);
  }
  if (versions.size === 0) throw invalid('the key set has no versions');
  const latest = Math.max(...versions.keys());
  if (minDecryption > latest) throw invalid(`min_decryption_version ${minDecryption} is above the newest version ${latest}`);
  return { source, versions, latest, minDecryption };
}
