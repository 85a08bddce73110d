import { describe, expect, it, jest } from '@jest/globals';
import { thrown } from '@keyward/test-support';
import { generateApiKey } from './api-key-format.js';
import { hashApiKey } from './api-key-hash.js';
import { ApiKeyScopeError } from './api-key-scope.error.js';
import { createApiKeyVerifier } from './api-key-verifier.js';
import { createApiKey, revokeApiKey, rotateApiKey } from './key-rotation.js';
import { emptyKeyRing, type KeyRing } from './key-ring.js';

const PEPPER = 'pepper-0123456789abcdef0123456789';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;


/** A ring with billing's key rotated once at T0 (24h grace), and a verifier on an adjustable clock. */
function setUp() {
  const first = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read', 'orders:write'], pepper: PEPPER, now: T0 - HOUR });
  const second = rotateApiKey(first.ring, { client: 'billing', grace: '24h', env: 'live', pepper: PEPPER, now: T0 });
  const clock = { now: T0 + HOUR };
  let ring: KeyRing = second.ring;
  const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER, now: () => clock.now });
  return { verifier, clock, previous: first, current: second, setRing: (next: KeyRing) => (ring = next), ring: () => ring };
}

describe('createApiKeyVerifier', () => {
  it('accepts the current key with its client and scopes', () => {
    const { verifier, current } = setUp();
    const result = verifier.verify(current.key, { scopes: ['orders:write'] });
    expect(result).toEqual({ keyId: current.keyId, client: 'billing', scopes: ['orders:read', 'orders:write'], status: 'current' });
    expect(verifier.usage()).toEqual([]);
  });

  it('accepts the previous key during its grace, flags it deprecated with the sunset, and counts the use', () => {
    const { verifier, previous, clock } = setUp();
    const result = verifier.verify(previous.key);
    expect(result.status).toBe('previous');
    expect(result.deprecated).toEqual({ sunset: new Date(T0 + 24 * HOUR), since: new Date(T0) });
    clock.now += HOUR;
    verifier.verify(previous.key);
    expect(verifier.usage()).toEqual([{ client: 'billing', keyId: previous.keyId, uses: 2, lastUsedAt: new Date(T0 + 2 * HOUR), sunset: new Date(T0 + 24 * HOUR) }]);
  });

  it('refuses the previous key with API_KEY_EXPIRED once the grace is over', () => {
    const { verifier, previous, current, clock } = setUp();
    clock.now = T0 + 24 * HOUR - 1;
    expect(verifier.verify(previous.key).status).toBe('previous');
    clock.now = T0 + 24 * HOUR;
    expect(thrown(() => verifier.verify(previous.key)).code).toBe('API_KEY_EXPIRED');
    expect(verifier.verify(current.key).status).toBe('current');
  });

  it('refuses a revoked key with API_KEY_REVOKED at once, even inside a grace', () => {
    const { verifier, previous, current, setRing, ring } = setUp();
    setRing(revokeApiKey(revokeApiKey(ring(), previous.keyId, { now: T0 + HOUR }), current.keyId, { now: T0 + HOUR }));
    expect(thrown(() => verifier.verify(previous.key)).code).toBe('API_KEY_REVOKED');
    expect(thrown(() => verifier.verify(current.key)).code).toBe('API_KEY_REVOKED');
  });

  it('refuses a well-formed key that is not in the ring with API_KEY_UNKNOWN', () => {
    const { verifier } = setUp();
    expect(thrown(() => verifier.verify(generateApiKey({ env: 'live' }).key)).code).toBe('API_KEY_UNKNOWN');
  });

  it('refuses a key whose keyId is in the ring but whose secret is not with API_KEY_UNKNOWN', () => {
    const { current } = setUp();
    // Well-formed with a right checksum and a known keyId: only the HMAC can tell.
    const forged = generateApiKey({ env: 'live' });
    const ring: KeyRing = {
      version: 1,
      keys: [{ keyId: forged.keyId, hmac: hashApiKey(current.key, PEPPER), status: 'current', client: 'x', scopes: [], createdAt: new Date(T0).toISOString() }],
    };
    expect(thrown(() => createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER }).verify(forged.key)).code).toBe('API_KEY_UNKNOWN');
  });

  it('refuses a key hashed under another pepper with API_KEY_UNKNOWN', () => {
    const { current, ring } = setUp();
    const verifier = createApiKeyVerifier({ ring, pepper: () => Buffer.from('another pepper entirely') });
    expect(thrown(() => verifier.verify(current.key)).code).toBe('API_KEY_UNKNOWN');
  });

  it('refuses a missing scope with API_KEY_SCOPE naming the scope, not the key', () => {
    const { verifier, current } = setUp();
    let caught: unknown;
    try {
      verifier.verify(current.key, { scopes: ['orders:read', 'admin'] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiKeyScopeError);
    expect(caught).toMatchObject({ code: 'API_KEY_SCOPE', missingScope: 'admin', client: 'billing' });
    expect((caught as Error).message).toContain('admin');
    expect((caught as Error).message).not.toContain(current.key.split('_')[3]!);
  });

  it.each([[''], [undefined], [null]])('refuses %j with API_KEY_MISSING', (presented) => {
    const { verifier } = setUp();
    expect(thrown(() => verifier.verify(presented)).code).toBe('API_KEY_MISSING');
  });

  it('rejects a key of the wrong shape as API_KEY_MALFORMED before reading the ring or the pepper', () => {
    const { current } = setUp();
    const ring = jest.fn(() => emptyKeyRing());
    const pepper = jest.fn(() => PEPPER);
    const verifier = createApiKeyVerifier({ ring, pepper });
    const broken = current.key.slice(0, 20) + '-' + current.key.slice(21);
    expect(thrown(() => verifier.verify(broken)).code).toBe('API_KEY_MALFORMED');
    expect(ring).not.toHaveBeenCalled();
    expect(pepper).not.toHaveBeenCalled();
  });

  it('tells a typo in the secret (API_KEY_MALFORMED: its checksum fails) from a well-formed unknown key', () => {
    const { verifier, current } = setUp();
    const at = current.key.length - 10; // in the secret, before the checksum
    const typo = current.key.slice(0, at) + (current.key[at] === 'a' ? 'b' : 'a') + current.key.slice(at + 1);
    expect(thrown(() => verifier.verify(typo)).code).toBe('API_KEY_MALFORMED');
    expect(verifier.check(typo)).toEqual({ ok: false, code: 'API_KEY_MALFORMED' });
  });

  it('check() reports what verify() throws, without throwing, and the same principal when it accepts', () => {
    const { verifier, current, previous, clock } = setUp();
    expect(verifier.check(current.key, { scopes: ['orders:write'] })).toEqual({ ok: true, key: verifier.verify(current.key, { scopes: ['orders:write'] }) });
    expect(verifier.check(current.key, { scopes: ['admin'] })).toEqual({ ok: false, code: 'API_KEY_SCOPE', missingScope: 'admin', client: 'billing' });
    const scopeError = thrown(() => verifier.verify(current.key, { scopes: ['admin'] }));
    expect(scopeError).toBeInstanceOf(ApiKeyScopeError);
    expect((scopeError as ApiKeyScopeError).missingScope).toBe('admin');
    expect(verifier.check(generateApiKey({ env: 'live' }).key)).toEqual({ ok: false, code: 'API_KEY_UNKNOWN' });
    expect(verifier.check(undefined)).toEqual({ ok: false, code: 'API_KEY_MISSING' });
    clock.now = T0 + 25 * HOUR;
    expect(verifier.check(previous.key)).toEqual({ ok: false, code: 'API_KEY_EXPIRED' });
  });

  it('indexes the ring once per document and follows a new document', () => {
    const { current, ring: rotated } = setUp();
    let reads = 0;
    const counted = (doc: KeyRing): KeyRing => ({
      version: 1,
      get keys() {
        reads += 1;
        return doc.keys;
      },
    });
    let ring = counted(emptyKeyRing());
    const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER });
    for (let i = 0; i < 3; i++) expect(thrown(() => verifier.verify(current.key)).code).toBe('API_KEY_UNKNOWN');
    expect(reads).toBe(1);
    ring = counted(rotated());
    for (let i = 0; i < 3; i++) expect(verifier.verify(current.key).status).toBe('current');
    expect(reads).toBe(2);
  });

  it('fails with SECRET_INVALID when the ring document is malformed', () => {
    const { current } = setUp();
    const verifier = createApiKeyVerifier({ ring: () => ({ version: 2 }) as unknown as KeyRing, pepper: () => PEPPER });
    expect(thrown(() => verifier.verify(current.key)).code).toBe('SECRET_INVALID');
  });
});
