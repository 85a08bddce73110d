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

  // A date without a zone would be each server's local time: instances in other zones would disagree on when a key ends.
  it.each([
    ['a date-time without a zone', '2027-01-01T00:00'],
    ['a date-time with seconds and no zone', '2027-01-01T00:00:00.000'],
    ['a date-time with a space and no zone', '2027-01-01 00:00:00'],
    ['a non-ISO date', 'Jan 1 2027 00:00 GMT'],
    ['a day that does not exist', '2027-02-30'],
    ['an hour that does not exist', '2027-01-01T24:30:00Z'],
    ['an offset without a colon', '2027-01-01T00:00:00+0200'],
  ])('refuses %s in expiresAt with SECRET_INVALID asking for an explicit zone', (_what, expiresAt) => {
    const err = thrown(() => parseKeyRing({ version: 1, keys: [{ ...ENTRY, expiresAt }] }));
    expect(err.code).toBe('SECRET_INVALID');
    expect(err.message).toContain('keys[0].expiresAt must be an ISO 8601 date-time with a zone (Z or ±hh:mm), or a date YYYY-MM-DD (UTC)');
  });

  it.each([
    ['Z', '2027-01-01T00:00:00.000Z', Date.UTC(2027, 0, 1)],
    ['an offset', '2027-01-01T02:00+02:00', Date.UTC(2027, 0, 1)],
    ['a lower-case z and no seconds', '2027-01-01t00:00z', Date.UTC(2027, 0, 1)],
    ['a date only, as UTC midnight', '2027-01-01', Date.UTC(2027, 0, 1)],
  ])('accepts expiresAt with %s', (_what, expiresAt, ms) => {
    const [entry] = parseKeyRing({ version: 1, keys: [{ ...ENTRY, expiresAt }] }).keys;
    expect(Date.parse(entry!.expiresAt!)).toBe(ms);
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
