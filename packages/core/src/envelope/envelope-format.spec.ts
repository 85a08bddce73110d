import { describe, expect, it } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { formatEnvelope, parseEnvelope, type EnvelopeParts } from './envelope-format.js';

const parts: EnvelopeParts = {
  kek: { provider: 'aws-kms', keyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', keyVersion: 'a.b/c' },
  wrappedKey: Buffer.from('wrapped-data-key'),
  iv: Buffer.alloc(12, 1),
  ciphertext: Buffer.alloc(20, 2),
};

function codeOf(input: unknown): string {
  try {
    parseEnvelope(input as string);
    return 'parsed';
  } catch (err) {
    return KeywardError.is(err) ? err.code : 'foreign';
  }
}

describe('envelope format', () => {
  it('writes a compact kw1 string and a JSON form that parse back to the same parts', () => {
    const compact = formatEnvelope(parts, 'compact');
    expect(compact.split('.')).toHaveLength(5);
    expect(compact.startsWith('kw1.')).toBe(true);
    for (const form of [compact, formatEnvelope(parts, 'json'), JSON.parse(JSON.stringify(formatEnvelope(parts, 'json')))]) {
      const back = parseEnvelope(form);
      expect(back.kek).toEqual(parts.kek);
      expect(back.wrappedKey.equals(parts.wrappedKey) && back.iv.equals(parts.iv) && back.ciphertext.equals(parts.ciphertext)).toBe(true);
    }
  });

  it('tells a later format version from garbage', () => {
    const compact = formatEnvelope(parts, 'compact');
    expect(codeOf(compact.replace(/^kw1/, 'kw2'))).toBe('ENVELOPE_VERSION');
    expect(codeOf({ ...formatEnvelope(parts, 'json'), version: 2 })).toBe('ENVELOPE_VERSION');
    for (const bad of ['', 'kw1', 'kw1....', compact + '.x', compact.replace(/^kw1/, 'kwx'), 42, null, {}, { format: 'keyward.envelope', version: 1 }]) {
      expect(codeOf(bad)).toBe('ENVELOPE_MALFORMED');
    }
  });

  it('accepts one spelling only: padding, non-canonical base64url and re-spaced headers are malformed', () => {
    const compact = formatEnvelope(parts, 'compact');
    const [prefix, header, wrapped, iv, ciphertext] = compact.split('.') as [string, string, string, string, string];
    expect(codeOf([prefix, header, wrapped + '=', iv, ciphertext].join('.'))).toBe('ENVELOPE_MALFORMED');
    // 'wrapped-data-key' is 16 bytes: its last base64url character carries 4 unused bits.
    const last = wrapped.at(-1)!;
    const sameBytes = String.fromCharCode(last.charCodeAt(0) + 1);
    expect(Buffer.from(wrapped.slice(0, -1) + sameBytes, 'base64url').equals(parts.wrappedKey)).toBe(true);
    expect(codeOf([prefix, header, wrapped.slice(0, -1) + sameBytes, iv, ciphertext].join('.'))).toBe('ENVELOPE_MALFORMED');
    const spaced = Buffer.from(JSON.stringify([parts.kek.provider, parts.kek.keyId, parts.kek.keyVersion], null, 1)).toString('base64url');
    expect(codeOf([prefix, spaced, wrapped, iv, ciphertext].join('.'))).toBe('ENVELOPE_MALFORMED');
    expect(codeOf([prefix, header, wrapped, Buffer.alloc(11).toString('base64url'), ciphertext].join('.'))).toBe('ENVELOPE_MALFORMED');
    expect(codeOf([prefix, header, wrapped, iv, Buffer.alloc(15).toString('base64url')].join('.'))).toBe('ENVELOPE_MALFORMED');
  });

  it('never quotes the envelope in its errors', () => {
    const planted = 'kw1.' + Buffer.from('["local","k","1"]').toString('base64url') + '.c2VjcmV0.planted%value!.x';
    try {
      parseEnvelope(planted);
      throw new Error('parsed');
    } catch (err) {
      expect(KeywardError.is(err, 'ENVELOPE_MALFORMED')).toBe(true);
      expect((err as Error).message).not.toContain('c2VjcmV0');
      expect((err as Error).message).not.toContain('planted%value');
    }
  });
});
