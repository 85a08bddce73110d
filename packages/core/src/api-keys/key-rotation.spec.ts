import { describe, expect, it } from '@jest/globals';
import { thrown } from '@keyward/test-support';
import { hashApiKey } from './api-key-hash.js';
import { createApiKey, pruneKeyRing, revokeApiKey, rotateApiKey } from './key-rotation.js';
import { emptyKeyRing, parseKeyRing, type KeyRing } from './key-ring.js';

const PEPPER = Buffer.from('0123456789abcdef0123456789abcdef');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}


describe('createApiKey', () => {
  it('adds a current key holding the HMAC of the returned key, never the key', () => {
    const { ring, key, keyId } = createApiKey(deepFreeze(emptyKeyRing()), { client: 'billing', env: 'live', scopes: ['a'], pepper: PEPPER, label: 'prod', now: T0 });
    expect(ring.keys).toEqual([{ keyId, hmac: hashApiKey(key, PEPPER), status: 'current', client: 'billing', label: 'prod', scopes: ['a'], createdAt: new Date(T0).toISOString() }]);
    expect(JSON.stringify(ring)).not.toContain(key.split('_')[3]!);
    expect(parseKeyRing(JSON.stringify(ring))).toEqual(ring);
  });

  it('refuses a second current key for the same client', () => {
    const { ring } = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: [], pepper: PEPPER });
    expect(thrown(() => createApiKey(ring, { client: 'billing', env: 'live', scopes: [], pepper: PEPPER })).code).toBe('CONFIG_INVALID');
    expect(createApiKey(ring, { client: 'shipping', env: 'live', scopes: [], pepper: PEPPER }).ring.keys).toHaveLength(2);
  });
});

describe('rotateApiKey', () => {
  function ringWithBilling(): { ring: KeyRing; keyId: string } {
    const first = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper: PEPPER, now: T0 - DAY });
    const other = createApiKey(first.ring, { client: 'shipping', env: 'live', scopes: [], pepper: PEPPER, now: T0 - DAY });
    return { ring: deepFreeze(other.ring), keyId: first.keyId };
  }

  it("moves the client's current key to previous with expiresAt = now + grace, and adds a new current key", () => {
    const { ring, keyId: oldId } = ringWithBilling();
    const next = rotateApiKey(ring, { client: 'billing', grace: '24h', env: 'live', pepper: PEPPER, now: T0 });
    const byId = new Map(next.ring.keys.map((e) => [e.keyId, e]));
    expect(byId.get(oldId)).toMatchObject({ status: 'previous', expiresAt: new Date(T0 + DAY).toISOString() });
    expect(byId.get(next.keyId)).toMatchObject({ status: 'current', client: 'billing', scopes: ['orders:read'], hmac: hashApiKey(next.key, PEPPER) });
    expect(next.ring.keys.filter((e) => e.client === 'shipping')).toEqual(ring.keys.filter((e) => e.client === 'shipping'));
    expect(ring.keys.find((e) => e.keyId === oldId)!.status).toBe('current'); // the input is untouched
  });

  it('takes new scopes when given', () => {
    const { ring } = ringWithBilling();
    const next = rotateApiKey(ring, { client: 'billing', grace: 0, env: 'live', scopes: ['orders:write'], pepper: PEPPER, now: T0 });
    expect(next.ring.keys.find((e) => e.keyId === next.keyId)!.scopes).toEqual(['orders:write']);
  });

  it('prunes expired and revoked keys older than the retention, keeps recent ones', () => {
    const { ring } = ringWithBilling();
    const r1 = rotateApiKey(ring, { client: 'billing', grace: '1h', env: 'live', pepper: PEPPER, now: T0 });
    const revoked = revokeApiKey(r1.ring, r1.keyId, { now: T0 });
    const r2 = rotateApiKey(createApiKey(revoked, { client: 'billing', env: 'live', scopes: [], pepper: PEPPER, now: T0 }).ring, {
      client: 'billing', grace: '1h', env: 'live', pepper: PEPPER, now: T0 + 2 * DAY, retention: '1d',
    });
    expect(r2.ring.keys.filter((e) => e.client === 'billing').map((e) => e.status)).toEqual(['previous', 'current']);
    const kept = rotateApiKey(revoked, { client: 'shipping', grace: '1h', env: 'live', pepper: PEPPER, now: T0 + 2 * DAY }); // default 7d
    expect(kept.ring.keys.filter((e) => e.client === 'billing')).toHaveLength(2);
    expect(pruneKeyRing(kept.ring, { retention: '1d', now: T0 + 2 * DAY }).keys.filter((e) => e.client === 'billing')).toHaveLength(0);
  });

  it('refuses a client without a current key, and a bad grace', () => {
    const { ring } = ringWithBilling();
    expect(thrown(() => rotateApiKey(ring, { client: 'nobody', grace: '1h', env: 'live', pepper: PEPPER })).code).toBe('CONFIG_INVALID');
    expect(thrown(() => rotateApiKey(ring, { client: 'billing', grace: 'soon', env: 'live', pepper: PEPPER })).code).toBe('CONFIG_INVALID');
  });
});

describe('revokeApiKey', () => {
  it('marks the key revoked at once, leaving the input untouched; revoking twice changes nothing', () => {
    const { ring, keyId } = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: [], pepper: PEPPER });
    deepFreeze(ring);
    const next = revokeApiKey(ring, keyId, { now: T0 });
    expect(next.keys[0]).toMatchObject({ status: 'revoked', revokedAt: new Date(T0).toISOString() });
    expect(ring.keys[0]!.status).toBe('current');
    expect(revokeApiKey(next, keyId, { now: T0 + HOUR })).toBe(next);
  });

  it('refuses an unknown keyId', () => {
    expect(thrown(() => revokeApiKey(emptyKeyRing(), 'a1B2c3D4e5F6')).code).toBe('API_KEY_UNKNOWN');
  });
});
