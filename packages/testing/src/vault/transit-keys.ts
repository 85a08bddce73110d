import { randomBytes } from 'node:crypto';
import { unixSeconds } from './ids.js';
import {
  aeadOpen,
  aeadSeal,
  convergentNonce,
  decodeGoBase64,
  GoBase64Error,
  hkdfSha256,
  keyBytes,
  NONCE_BYTES,
  openFailure,
  randomNonce,
  type AeadKeyType,
} from './transit-crypto.js';

/**
 * A failure of one transit operation with Vault's text: a user error (400, `errutil.UserError`)
 * or an internal one (500, `errutil.InternalError`). Batch calls report them per item.
 */
export class TransitError extends Error {
  constructor(
    message: string,
    readonly internal = false,
  ) {
    super(message);
  }
}

/** Vault's `keysutil.ErrTooOld`. */
export const ERR_TOO_OLD = 'ciphertext or signature version is disallowed by policy (too old)';
const MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";
const PREFIX = 'vault:v';

interface KeyVersion {
  readonly key: Buffer;
  readonly createdMs: number;
}

export interface TransitKeySettings {
  readonly type: AeadKeyType;
  readonly derived: boolean;
  readonly convergent: boolean;
  readonly exportable: boolean;
  readonly allowPlaintextBackup: boolean;
  readonly autoRotateSeconds: number;
}

/** What one encrypt or decrypt needs besides the key: the decoded context (derived keys) and nonce, the base64 associated data. */
export interface CryptoInput {
  readonly context?: Buffer | undefined;
  readonly nonce?: Buffer | undefined;
  /** Decoded only after the key, as Vault's AssociatedDataFactory is; a bad one is an internal error (500). */
  readonly associatedData?: string | undefined;
}

/**
 * One named transit key (a keysutil.Policy): its versions, the minimum versions for encryption
 * and decryption, and encrypt/decrypt with Vault's checks in Vault's order and words. Versions
 * below `min_decryption_version` are kept (Vault archives them) so lowering it again brings them
 * back, but only the others are listed and usable.
 */
export class TransitKey {
  readonly versions = new Map<number, KeyVersion>();
  latest = 0;
  minDecryption = 1;
  minEncryption = 0;
  deletionAllowed = false;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  autoRotateSeconds: number;

  constructor(
    readonly name: string,
    readonly settings: TransitKeySettings,
  ) {
    this.exportable = settings.exportable;
    this.allowPlaintextBackup = settings.allowPlaintextBackup;
    this.autoRotateSeconds = settings.autoRotateSeconds;
    this.rotate();
  }

  get type(): AeadKeyType {
    return this.settings.type;
  }

  rotate(): void {
    this.latest += 1;
    this.versions.set(this.latest, { key: randomBytes(keyBytes(this.type)), createdMs: Date.now() });
  }

  /** `formatKeyPolicy` for the symmetric types, keys sorted as Go's encoder sorts map keys. */
  describe(): Record<string, unknown> {
    const keys: Record<string, number> = {};
    for (let v = this.minDecryption; v <= this.latest; v++) keys[String(v)] = unixSeconds(this.versions.get(v)!.createdMs);
    const data: Record<string, unknown> = {
      allow_plaintext_backup: this.allowPlaintextBackup,
      auto_rotate_period: this.autoRotateSeconds,
      deletion_allowed: this.deletionAllowed,
      derived: this.settings.derived,
      exportable: this.exportable,
      imported_key: false,
      keys,
      latest_version: this.latest,
      min_available_version: 0,
      min_decryption_version: this.minDecryption,
      min_encryption_version: this.minEncryption,
      name: this.name,
      supports_decryption: true,
      supports_derivation: true,
      supports_encryption: true,
      supports_signing: false,
      type: this.type,
    };
    if (this.settings.derived) {
      data.kdf = 'hkdf_sha256';
      data.convergent_encryption = this.settings.convergent;
      if (this.settings.convergent) data.convergent_encryption_version = -1;
    }
    return Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** `EncryptWithFactory` for one item: `vault:v<N>:` + base64(nonce ‖ ciphertext ‖ tag), and N. */
  encrypt(requestedVersion: number, plaintext: Buffer, input: CryptoInput): { ciphertext: string; version: number } {
    let version = requestedVersion;
    if (version === 0) version = this.latest;
    else if (version < 0) throw new TransitError('requested version for encryption is negative');
    else if (version > this.latest) throw new TransitError('requested version for encryption is higher than the latest key version');
    else if (version < this.minEncryption) throw new TransitError('requested version for encryption is less than the minimum encryption key version');
    if (input.nonce && input.nonce.length > 0) throw new TransitError('nonce provided when not allowed');
    const encBytes = keyBytes(this.type);
    const material = this.keyFor(input.context, version, encBytes + (this.settings.convergent ? 32 : 0));
    const nonce = this.settings.convergent ? convergentNonce(material.subarray(encBytes), plaintext) : randomNonce();
    const sealed = aeadSeal(this.type, material.subarray(0, encBytes), nonce, plaintext, associatedData(input));
    return { ciphertext: `${PREFIX}${version}:${sealed.toString('base64')}`, version };
  }

  /** `DecryptWithFactory`: the plaintext, or Vault's error for the first check that fails. */
  decrypt(value: string, input: CryptoInput): Buffer {
    if (!value.startsWith(PREFIX)) throw new TransitError('invalid ciphertext: no prefix');
    const rest = value.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon < 0) throw new TransitError('invalid ciphertext: wrong number of fields');
    let version = goAtoi(rest.slice(0, colon));
    if (version === undefined) throw new TransitError('invalid ciphertext: version number could not be decoded');
    if (version === 0) version = 1;
    if (version > this.latest) throw new TransitError('invalid ciphertext: version is too new');
    if (version < this.minDecryption) throw new TransitError(ERR_TOO_OLD);
    let sealed: Buffer;
    try {
      sealed = decodeGoBase64(rest.slice(colon + 1));
    } catch {
      throw new TransitError('invalid ciphertext: could not decode base64');
    }
    const encBytes = keyBytes(this.type);
    const key = this.keyFor(input.context, version, encBytes).subarray(0, encBytes);
    const aad = associatedData(input);
    if (sealed.length < NONCE_BYTES) throw new TransitError('invalid ciphertext length');
    const plain = aeadOpen(this.type, key, sealed, aad);
    if (!plain) throw new TransitError(openFailure(this.type));
    return plain;
  }

  /** `GetKey`: the version's key, or (derived keys) HKDF of it with the context. */
  private keyFor(context: Buffer | undefined, version: number, length: number): Buffer {
    if (this.settings.derived) {
      if (version <= 0 || version > this.latest) throw new TransitError('invalid key version');
      if (!context || context.length === 0) throw new TransitError(MISSING_CONTEXT);
    }
    const entry = version >= this.minDecryption ? this.versions.get(version) : undefined;
    if (!entry) throw new TransitError('no such key version');
    return this.settings.derived ? hkdfSha256(entry.key, context!, length) : entry.key;
  }
}

function associatedData(input: CryptoInput): Buffer | undefined {
  if (!input.associatedData) return undefined;
  try {
    return decodeGoBase64(input.associatedData);
  } catch (err) {
    throw new TransitError(`unable to get associated_data/additional_data from factory[0]: ${(err as Error).message}`, true);
  }
}

/** Go's `strconv.Atoi`: optional sign, decimal digits, within int64 (beyond 2^53 only its order matters here). */
function goAtoi(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Math.abs(n) < 2 ** 63 ? n : undefined;
}

/** base64 decode as Go does, giving Go's error text (`illegal base64 data at input byte N`) as a user error. */
export function decodeBase64Field(text: string): Buffer {
  try {
    return decodeGoBase64(text);
  } catch (err) {
    throw new TransitError(err instanceof GoBase64Error ? err.message : String(err));
  }
}
