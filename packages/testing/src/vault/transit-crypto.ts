import { createCipheriv, createDecipheriv, createHmac, randomBytes, type CipherGCMTypes } from 'node:crypto';

/** The transit key types the dev server implements: Vault's symmetric AEAD keys. */
export const AEAD_KEY_TYPES = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'] as const;
export type AeadKeyType = (typeof AEAD_KEY_TYPES)[number];

/** Types Vault documents that the dev server does not implement (signing, RSA, HMAC, enterprise). */
export const OTHER_DOCUMENTED_KEY_TYPES = new Set([
  'ed25519',
  'ecdsa-p256',
  'ecdsa-p384',
  'ecdsa-p521',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
  'hmac',
  'managed_key',
  'aes128-cmac',
  'aes256-cmac',
  'ml-dsa',
  'hybrid',
]);

export const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export const isAeadKeyType = (type: string): type is AeadKeyType => (AEAD_KEY_TYPES as readonly string[]).includes(type);

/** Key length in bytes: AES-128 keys are 16, the others 32. */
export const keyBytes = (type: AeadKeyType): number => (type === 'aes128-gcm96' ? 16 : 32);

const CIPHERS: Record<AeadKeyType, CipherGCMTypes | 'chacha20-poly1305'> = {
  'aes128-gcm96': 'aes-128-gcm',
  'aes256-gcm96': 'aes-256-gcm',
  'chacha20-poly1305': 'chacha20-poly1305',
};

/** What Go's AEAD `Open` says when the tag does not verify (crypto/cipher for GCM, x/crypto for ChaCha20). */
export const openFailure = (type: AeadKeyType): string =>
  type === 'chacha20-poly1305' ? 'chacha20poly1305: message authentication failed' : 'cipher: message authentication failed';

/** nonce ‖ ciphertext ‖ tag, the layout of Vault's `SymmetricEncryptRaw`. */
export function aeadSeal(type: AeadKeyType, key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer | undefined): Buffer {
  const cipher = createCipheriv(CIPHERS[type] as CipherGCMTypes, key, nonce, { authTagLength: TAG_BYTES });
  if (aad) cipher.setAAD(aad);
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or undefined when the tag does not verify (also for input shorter than a tag). */
export function aeadOpen(type: AeadKeyType, key: Buffer, sealed: Buffer, aad: Buffer | undefined): Buffer | undefined {
  const body = sealed.subarray(NONCE_BYTES);
  if (body.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv(CIPHERS[type] as CipherGCMTypes, key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

export const randomNonce = (): Buffer => randomBytes(NONCE_BYTES);

/**
 * HKDF-SHA256 (RFC 5869) with no salt and the context as info: how Vault derives a per-context key
 * from a derived key's version (`Kdf_hkdf_sha256`). Written out because Node's `hkdf` limits info
 * to 1024 bytes and Vault takes a context of any length.
 */
export function hkdfSha256(key: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(key).digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; blocks.length * 32 < length; i++) {
    previous = createHmac('sha256', prk).update(previous).update(info).update(Buffer.from([i])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The nonce of convergent encryption (version 3): the first 12 bytes of HMAC-SHA256 of the plaintext. */
export const convergentNonce = (hmacKey: Buffer, plaintext: Buffer): Buffer =>
  createHmac('sha256', hmacKey).update(plaintext).digest().subarray(0, NONCE_BYTES);

/** Go's `base64.CorruptInputError`, with its message. */
export class GoBase64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Map([...ALPHABET].map((c, i) => [c.charCodeAt(0), i]));
const PAD = 0x3d;
const isNewline = (c: number | undefined) => c === 0x0a || c === 0x0d;

/**
 * Go's `base64.StdEncoding.DecodeString`: padding required, CR and LF skipped, the same
 * `illegal base64 data at input byte N` offsets Vault reports (a port of `decodeQuantum`).
 */
export function decodeGoBase64(text: string): Buffer {
  const src = Buffer.from(text, 'latin1');
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const quantum: number[] = [];
    let done = false;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) {
          done = true;
          break;
        }
        throw new GoBase64Error(si - j);
      }
      const c = src[si]!;
      si++;
      const value = DECODE.get(c);
      if (value !== undefined) {
        quantum.push(value);
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD || j < 2) throw new GoBase64Error(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) throw new GoBase64Error(src.length);
        if (src[si] !== PAD) throw new GoBase64Error(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) throw new GoBase64Error(si);
      done = true;
      break;
    }
    const [a = 0, b = 0, c = 0, d = 0] = quantum;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    const bytes = [(bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff];
    out.push(...bytes.slice(0, Math.max(0, quantum.length - 1)));
    if (done) break;
  }
  return Buffer.from(out);
}
