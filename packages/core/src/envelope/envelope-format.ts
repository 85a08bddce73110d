import { KeywardError } from '../errors/index.js';
import type { KekReference } from './kek-provider.js';

/** The first part of every compact envelope of this format version. */
export const ENVELOPE_PREFIX = 'kw1';

/** AES-GCM's 96-bit IV and 128-bit tag. */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/**
 * An envelope as JSON, for a `jsonb` column or a document store. Names the KEK, never holds a key.
 *
 * @example
 * { "format": "keyward.envelope", "version": 1,
 *   "kek": { "provider": "aws-kms", "keyId": "arn:aws:kms:…:key/…", "keyVersion": "a1b2…" },
 *   "wrappedKey": "…", "iv": "…", "ciphertext": "…" }
 */
export interface EnvelopeJson {
  readonly format: 'keyward.envelope';
  readonly version: 1;
  readonly kek: KekReference;
  /** The data key wrapped by the KEK, base64url. */
  readonly wrappedKey: string;
  /** AES-GCM's 96-bit IV, base64url. */
  readonly iv: string;
  /** AES-256-GCM ciphertext followed by its 128-bit tag, base64url. */
  readonly ciphertext: string;
}

/** What `encrypt` returns and `decrypt` and `rewrap` take: the compact string (`kw1.…`) or its JSON form. */
export type SealedEnvelope = string | EnvelopeJson;

/** An envelope taken apart: what `rewrap` changes (kek, wrappedKey) and what it never touches (iv, ciphertext). */
export interface EnvelopeParts {
  readonly kek: KekReference;
  readonly wrappedKey: Buffer;
  readonly iv: Buffer;
  /** Ciphertext and tag. */
  readonly ciphertext: Buffer;
}

const MALFORMED = 'the envelope is malformed';

/**
 * The compact form: `kw1.` + four base64url parts separated by dots: the KEK reference
 * (JSON `[provider, keyId, keyVersion]`), the wrapped data key, the IV, the ciphertext with its tag.
 */
export function formatEnvelope(parts: EnvelopeParts, form: 'compact'): string;
export function formatEnvelope(parts: EnvelopeParts, form: 'json'): EnvelopeJson;
export function formatEnvelope(parts: EnvelopeParts, form: 'compact' | 'json'): SealedEnvelope {
  const { provider, keyId, keyVersion } = parts.kek;
  if (form === 'json') {
    return {
      format: 'keyward.envelope',
      version: 1,
      kek: { provider, keyId, keyVersion },
      wrappedKey: parts.wrappedKey.toString('base64url'),
      iv: parts.iv.toString('base64url'),
      ciphertext: parts.ciphertext.toString('base64url'),
    };
  }
  const header = Buffer.from(JSON.stringify([provider, keyId, keyVersion]), 'utf8');
  return [ENVELOPE_PREFIX, header, parts.wrappedKey, parts.iv, parts.ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/**
 * Takes an envelope apart without any key: `ENVELOPE_MALFORMED` when it is not one (the message
 * never quotes it), `ENVELOPE_VERSION` when it is a format version this release does not read.
 *
 * @example
 * const { kek } = parseEnvelope(row.secret_note); // which KEK version wrapped it
 */
export function parseEnvelope(envelope: SealedEnvelope): EnvelopeParts {
  if (typeof envelope === 'string') return parseCompact(envelope);
  if (typeof envelope === 'object' && envelope !== null) return parseJson(envelope);
  throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: expected a string or an envelope object`);
}

/** The form an envelope came in, so `rewrap` answers in the same one. */
export function envelopeForm(envelope: SealedEnvelope): 'compact' | 'json' {
  return typeof envelope === 'string' ? 'compact' : 'json';
}

function parseCompact(text: string): EnvelopeParts {
  const parts = text.split('.');
  const version = /^kw(\d+)$/.exec(parts[0] ?? '');
  if (version && parts[0] !== ENVELOPE_PREFIX) {
    throw new KeywardError('ENVELOPE_VERSION', `the envelope is format version ${version[1]}; this release reads version 1`);
  }
  if (!version || parts.length !== 5) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: expected kw1. and four parts`);
  const [, header, wrappedKey, iv, ciphertext] = parts as [string, string, string, string, string];
  return checked({
    kek: kekFromHeader(decode(header, 'KEK reference')),
    wrappedKey: decode(wrappedKey, 'wrapped key'),
    iv: decode(iv, 'IV'),
    ciphertext: decode(ciphertext, 'ciphertext'),
  });
}

function parseJson(value: object): EnvelopeParts {
  const json = value as Partial<Record<keyof EnvelopeJson, unknown>>;
  if (json.format !== 'keyward.envelope') throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: no "format": "keyward.envelope"`);
  if (json.version !== 1) {
    throw new KeywardError('ENVELOPE_VERSION', `the envelope is format version ${JSON.stringify(json.version)}; this release reads version 1`);
  }
  const kek = json.kek as Partial<Record<keyof KekReference, unknown>> | undefined;
  return checked({
    kek: kekReference([kek?.provider, kek?.keyId, kek?.keyVersion]),
    wrappedKey: decode(json.wrappedKey, 'wrapped key'),
    iv: decode(json.iv, 'IV'),
    ciphertext: decode(json.ciphertext, 'ciphertext'),
  });
}

function checked(parts: EnvelopeParts): EnvelopeParts {
  if (parts.iv.length !== IV_BYTES) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the IV is not ${IV_BYTES} bytes`);
  if (parts.ciphertext.length < TAG_BYTES) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the ciphertext is truncated`);
  if (parts.wrappedKey.length === 0) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the wrapped key is empty`);
  return parts;
}

/** Strict base64url: one spelling per byte string, so no flipped character decodes to the same envelope. */
function decode(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) {
    throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the ${what} is not base64url`);
  }
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the ${what} is not canonical base64url`);
  return bytes;
}

function kekFromHeader(bytes: Buffer): KekReference {
  let fields: unknown;
  try {
    fields = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the KEK reference is not JSON`);
  }
  if (!Array.isArray(fields) || fields.length !== 3) throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the KEK reference is not [provider, keyId, keyVersion]`);
  const kek = kekReference(fields);
  // One spelling per header too: re-encoding must give the same bytes.
  if (JSON.stringify([kek.provider, kek.keyId, kek.keyVersion]) !== bytes.toString('utf8')) {
    throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the KEK reference is not canonical`);
  }
  return kek;
}

function kekReference([provider, keyId, keyVersion]: unknown[]): KekReference {
  for (const [field, value] of [['provider', provider], ['keyId', keyId], ['keyVersion', keyVersion]] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
      throw new KeywardError('ENVELOPE_MALFORMED', `${MALFORMED}: the KEK ${field} is missing or not a string`);
    }
  }
  return { provider: provider as string, keyId: keyId as string, keyVersion: keyVersion as string };
}
