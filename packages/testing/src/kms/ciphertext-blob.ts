import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalidCiphertext } from './errors.js';
import type { KeyMaterial, KmsKey } from './key-store.js';

/**
 * The emulator's CiphertextBlob, self-describing as KMS's is (its own layout, not KMS's):
 *
 *   0x01 | key id length (1 byte) | key id (UTF-8) | key material id (32 bytes) | IV (12) | tag (16) | AES-256-GCM ciphertext
 *
 * The header (format byte to key material id) and the canonical encryption context are the
 * additional authenticated data, so a changed byte anywhere, another context, or a header moved
 * to another key or material fails as InvalidCiphertextException.
 */
const FORMAT = 0x01;
const MATERIAL_ID_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface ParsedBlob {
  readonly keyId: string;
  readonly materialId: string;
  readonly header: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

export function sealBlob(key: KmsKey, material: KeyMaterial, plaintext: Buffer, context: Readonly<Record<string, string>>): Buffer {
  const keyId = Buffer.from(key.id, 'utf8');
  const header = Buffer.concat([Buffer.from([FORMAT, keyId.length]), keyId, Buffer.from(material.id, 'hex')]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material.secret, iv);
  cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
}

/** The blob's parts, or InvalidCiphertextException for anything that is not one of the emulator's blobs. */
export function parseBlob(blob: Buffer): ParsedBlob {
  const idLength = blob[1] ?? 0;
  const headerLength = 2 + idLength + MATERIAL_ID_BYTES;
  if (blob[0] !== FORMAT || idLength === 0 || blob.length <= headerLength + IV_BYTES + TAG_BYTES) throw invalidCiphertext();
  const ivAt = headerLength;
  const tagAt = ivAt + IV_BYTES;
  return {
    keyId: blob.subarray(2, 2 + idLength).toString('utf8'),
    materialId: blob.subarray(2 + idLength, headerLength).toString('hex'),
    header: blob.subarray(0, headerLength),
    iv: blob.subarray(ivAt, tagAt),
    tag: blob.subarray(tagAt, tagAt + TAG_BYTES),
    ciphertext: blob.subarray(tagAt + TAG_BYTES),
  };
}

/** The plaintext, or InvalidCiphertextException when the blob, its context or its material does not authenticate. */
export function openBlob(parsed: ParsedBlob, material: KeyMaterial, context: Readonly<Record<string, string>>): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', material.secret, parsed.iv);
    decipher.setAAD(Buffer.concat([parsed.header, canonicalContext(context)]));
    decipher.setAuthTag(parsed.tag);
    return Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

/**
 * The encryption context as bytes that do not depend on the order of its pairs: sorted by key
 * (UTF-8 byte order), each key and value length-prefixed so that `{ab: c}` and `{a: bc}` differ.
 */
export function canonicalContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context)
    .map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  return Buffer.concat(pairs.flatMap(([k, v]) => [lengthOf(k), k, lengthOf(v), v]));
}

function lengthOf(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return length;
}
