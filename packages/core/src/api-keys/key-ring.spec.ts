import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { thrown } from '@keyward/test-support';
import { emptyKeyRing, parseKeyRing } from './key-ring.js';

const ENTRY = {
  keyId: 'a1B2c3D4e5F6',
  hmac: 'ab'.repeat(32),
  status: 'previous',
  client: 'billing',
  label: 'ci',
  scopes: ['orders:read'],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-02T00:00:00.000Z',
};


describe('parseKeyRing', () => {
  it('reads JSON text or a parsed document and returns a clean copy', () => {
    const doc = { version: 1, keys: [{ ...ENTRY, extra: 'dropped' }] };
    expect(parseKeyRing(JSON.stringify(doc))).toEqual({ version: 1, keys: [ENTRY] });
    expect(parseKeyRing(doc)).toEqual({ version: 1, keys: [ENTRY] });
    expect(parseKeyRing(JSON.stringify(emptyKeyRing()))).toEqual(emptyKeyRing());
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['an array', []],
    ['another version', { version: 2, keys: [] }],
    ['no keys', { version: 1 }],
    ['a bad keyId', { version: 1, keys: [{ ...ENTRY, keyId: 'short' }] }],
    ['a bad hmac', { version: 1, keys: [{ ...ENTRY, hmac: 'XYZ' }] }],
    ['a bad status', { version: 1, keys: [{ ...ENTRY, status: 'active' }] }],
    ['an empty client', { version: 1, keys: [{ ...ENTRY, client: '' }] }],
    ['scopes not strings', { version: 1, keys: [{ ...ENTRY, scopes: [1] }] }],
    ['a bad date', { version: 1, keys: [{ ...ENTRY, createdAt: 'yesterday' }] }],
    ['a previous key without expiresAt', { version: 1, keys: [{ ...ENTRY, expiresAt: undefined }] }],
    ['a duplicate keyId', { version: 1, keys: [ENTRY, { ...ENTRY, status: 'current' }] }],
  ])('refuses %s with SECRET_INVALID', (_what, input) => {
    expect(thrown(() => parseKeyRing(input)).code).toBe('SECRET_INVALID');
  });

  it('names the field without quoting its value', () => {
    const canary = 'CANARY-hmac-value-not-hex';
    const err = thrown(() => parseKeyRing(JSON.stringify({ version: 1, keys: [{ ...ENTRY, hmac: canary }] })));
    expect(err.message).toContain('keys[0].hmac');
    expect(`${err.message} ${JSON.stringify(err)} ${inspect(err, { depth: 10 })}`).not.toContain(canary);
    const broken = thrown(() => parseKeyRing(`{"version":1,"keys":["${canary}`));
    expect(`${broken.message} ${inspect(broken, { depth: 10 })}`).not.toContain(canary);
  });
});
