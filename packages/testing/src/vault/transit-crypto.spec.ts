import { describe, expect, it } from '@jest/globals';
import { hkdfSync } from 'node:crypto';
import { aeadOpen, aeadSeal, decodeGoBase64, hkdfSha256, randomNonce } from './transit-crypto.js';

describe('transit crypto helpers', () => {
  it("decodes base64 as Go's StdEncoding does, with Go's error offsets", () => {
    expect(decodeGoBase64('dGhlIHF1aWNrIGJyb3duIGZveAo=').toString()).toBe('the quick brown fox\n');
    expect(decodeGoBase64('aGk=\r\n').toString()).toBe('hi');
    expect(decodeGoBase64('').length).toBe(0);
    const offset = (text: string) => {
      try {
        decodeGoBase64(text);
        return 'decoded';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(offset('not base64!')).toBe('illegal base64 data at input byte 3');
    expect(offset('aGVsbG8')).toBe('illegal base64 data at input byte 4'); // unpadded
    expect(offset('aGk')).toBe('illegal base64 data at input byte 0');
    expect(offset('Ab3==')).toBe('illegal base64 data at input byte 4'); // the datakey sample's context: padding, then more
    expect(offset('a===')).toBe('illegal base64 data at input byte 1');
    expect(offset('aG==x')).toBe('illegal base64 data at input byte 4');
    expect(offset('aG=')).toBe('illegal base64 data at input byte 3');
    expect(offset('aG=x')).toBe('illegal base64 data at input byte 2');
  });

  it('derives keys with HKDF-SHA256 (RFC 5869 test case 3: no salt, no info) and any length of info', () => {
    const okm = hkdfSha256(Buffer.alloc(22, 0x0b), Buffer.alloc(0), 42);
    expect(okm.toString('hex')).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
    const key = Buffer.alloc(32, 7);
    const info = Buffer.from('[["table","notes"]]');
    expect(hkdfSha256(key, info, 64)).toEqual(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 64)));
    expect(hkdfSha256(key, Buffer.alloc(4096, 1), 32)).toHaveLength(32);
  });

  it('seals nonce ‖ ciphertext ‖ tag and opens only with the same key and associated data', () => {
    for (const type of ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'] as const) {
      const key = Buffer.alloc(type === 'aes128-gcm96' ? 16 : 32, 3);
      const sealed = aeadSeal(type, key, randomNonce(), Buffer.from('data key'), Buffer.from('ad'));
      expect(sealed).toHaveLength(12 + 8 + 16);
      expect(aeadOpen(type, key, sealed, Buffer.from('ad'))?.toString()).toBe('data key');
      expect(aeadOpen(type, key, sealed, undefined)).toBeUndefined();
      expect(aeadOpen(type, key, sealed.subarray(0, 20), Buffer.from('ad'))).toBeUndefined();
    }
  });
});
