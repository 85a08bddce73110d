import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { API_KEY_CHALLENGE as CHALLENGE, createApiKey, emptyKeyRing, revokeApiKey } from '@keyward/core';
import { keywardErrorHandler, requireApiKey } from '@keyward/express';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { answer, ANSWERS, expectChallengeByPresentation, expectRefused, HOUR, rotatedRing, T0 } from './support/api-keys.js';

const PEPPER = 'pepper-express-0123456789abcdef0123';

function setUp() {
  const { previous, current, clock, state, verifier } = rotatedRing(PEPPER);
  const app = express();
  app.get('/orders', requireApiKey({ verifier, scopes: ['orders:read'] }), (req, res) => res.json({ principal: req.apiKey }));
  app.get('/admin', requireApiKey({ verifier, scopes: ['admin'] }), (_req, res) => res.json({ ok: true }));
  app.get('/custom', requireApiKey({ verifier, header: 'X-Client-Key' }), (req, res) => res.json({ client: req.apiKey!.client }));
  app.use(keywardErrorHandler());
  // 128 KiB of headers, so that the 64 KiB values of the property reach the middleware instead of Node's 431.
  const server = createServer({ maxHeaderSize: 128 * 1024 }, app);
  return { app, server, verifier, clock, state, previous, current };
}

describe('requireApiKey in a real Express app', () => {
  let env: ReturnType<typeof setUp>;
  beforeAll(async () => {
    env = setUp();
    await new Promise<void>((resolve) => env.server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => env.server.close(resolve));
  });

  it('accepts the current key and puts its principal on req.apiKey, without deprecation headers', async () => {
    const res = await request(env.server).get('/orders').set('X-API-Key', env.current.key).expect(200);
    expect(res.body.principal).toEqual({ keyId: env.current.keyId, client: 'billing', scopes: ['orders:read', 'orders:write'], status: 'current' });
    expect(res.headers['deprecation']).toBeUndefined();
    expect(res.headers['sunset']).toBeUndefined();
    expect(res.text).not.toContain(env.current.key);
  });

  it('accepts the previous key within its grace with Deprecation and Sunset headers', async () => {
    const res = await request(env.server).get('/orders').set('X-API-Key', env.previous.key).expect(200);
    expect(res.body.principal).toMatchObject({ keyId: env.previous.keyId, client: 'billing', status: 'previous' });
    // RFC 9745: when it was replaced (the rotation at T0), as epoch seconds; RFC 8594: when its grace ends.
    expect(res.headers['deprecation']).toBe(`@${T0 / 1000}`);
    expect(res.headers['sunset']).toBe('Fri, 02 Jan 2026 00:00:00 GMT');
    expect(new Date(res.headers['sunset']!).getTime()).toBe(T0 + 24 * HOUR);
  });

  it('says `Deprecation: true` for a previous key from a ring written before rotations recorded their time', async () => {
    const saved = env.state.ring;
    env.state.ring = { ...saved, keys: saved.keys.map(({ deprecatedAt: _dropped, ...entry }) => entry) };
    try {
      const res = await request(env.server).get('/orders').set('X-API-Key', env.previous.key).expect(200);
      expect(res.headers['deprecation']).toBe('true');
      expect(res.headers['sunset']).toBe('Fri, 02 Jan 2026 00:00:00 GMT');
    } finally {
      env.state.ring = saved;
    }
  });

  it('refuses the previous key after its grace with 401 API_KEY_EXPIRED', async () => {
    const fresh = setUp();
    fresh.clock.now = T0 + 24 * HOUR;
    const res = await request(fresh.app).get('/orders').set('X-API-Key', fresh.previous.key);
    expectRefused(res, 'API_KEY_EXPIRED', fresh.previous.key);
    await request(fresh.app).get('/orders').set('X-API-Key', fresh.current.key).expect(200);
  });

  it('refuses a revoked key with 401 API_KEY_REVOKED', async () => {
    const fresh = setUp();
    fresh.state.ring = revokeApiKey(fresh.state.ring, fresh.current.keyId, { now: T0 + HOUR });
    expectRefused(await request(fresh.app).get('/orders').set('X-API-Key', fresh.current.key), 'API_KEY_REVOKED', fresh.current.key);
  });

  it('refuses unknown, malformed and missing keys with 401 and WWW-Authenticate, never echoing the value', async () => {
    const unknown = createApiKey(emptyKeyRing(), { client: 'other', env: 'live', scopes: ['orders:read'], pepper: PEPPER }).key;
    expectRefused(await request(env.server).get('/orders').set('X-API-Key', unknown), 'API_KEY_UNKNOWN', unknown);
    const typo = env.current.key.slice(0, -1) + (env.current.key.endsWith('a') ? 'b' : 'a');
    expectRefused(await request(env.server).get('/orders').set('X-API-Key', typo), 'API_KEY_MALFORMED', typo);
    expectRefused(await request(env.server).get('/orders'), 'API_KEY_MISSING');
    expectRefused(await request(env.server).get('/orders').set('X-API-Key', ''), 'API_KEY_MISSING');
    expectRefused(await request(env.server).get('/orders').set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`), 'API_KEY_MISSING');
  });

  it('refuses a header value over 1 KiB as malformed, even when it starts with a valid key', async () => {
    const long = env.current.key + ' '.repeat(10) + 'x'.repeat(1100);
    expectRefused(await request(env.server).get('/orders').set('X-API-Key', long), 'API_KEY_MALFORMED', long);
    expectRefused(await request(env.server).get('/orders').set('Authorization', `Bearer ${long}`), 'API_KEY_MALFORMED', long);
  });

  it('answers a missing scope with 403 API_KEY_SCOPE and no challenge', async () => {
    const res = await request(env.server).get('/admin').set('X-API-Key', env.current.key).expect(403);
    expect(res.body).toEqual(answer('API_KEY_SCOPE'));
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.text).not.toContain(env.current.key);
  });

  it('reads Authorization: Bearer <key>, case-insensitively, and challenges a bad bearer token as invalid_token', async () => {
    const ok = await request(env.server).get('/orders').set('Authorization', `Bearer ${env.current.key}`).expect(200);
    expect(ok.body.principal.keyId).toBe(env.current.keyId);
    await request(env.server).get('/orders').set('Authorization', `bearer ${env.previous.key}`).expect(200).expect('Deprecation', `@${T0 / 1000}`);
    const bad = await request(env.server).get('/orders').set('Authorization', 'Bearer not-a-key');
    expectRefused(bad, 'API_KEY_MALFORMED', 'not-a-key');
    expect(bad.headers['www-authenticate']).toBe(`${CHALLENGE}, Bearer realm="keyward", error="invalid_token"`);
  });

  it('sends the same challenge as Nest for the same presentation: ApiKey for X-API-Key, ApiKey and Bearer invalid_token for a bearer token', async () => {
    await expectChallengeByPresentation(([name, value]) => request(env.server).get('/orders').set(name, value), PEPPER);
  });

  it('reads the key from the header option instead of X-API-Key', async () => {
    await request(env.server).get('/custom').set('X-Client-Key', env.current.key).expect(200, { client: 'billing' });
    expectRefused(await request(env.server).get('/custom').set('X-API-Key', env.current.key).set('Authorization', 'Basic eA=='), 'API_KEY_MISSING');
  });

  it('answers any header-legal value with 401, never 500, never echoing it', async () => {
    // What Node's HTTP client may send: tab, visible ASCII and space, and bytes 0x80-0xFF (UTF-8 text arrives as these).
    const legalChar = fc.oneof(
      fc.constant('\t'),
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    );
    const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    const value = fc.oneof(
      fc.string({ unit: legalChar, maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }).map(utf8),
      fc.constant(''),
      fc.tuple(legalChar, fc.integer({ min: 1025, max: 65_536 })).map(([c, n]) => c.repeat(n)),
      fc.string({ unit: legalChar, minLength: 1, maxLength: 20 }).chain((s) => fc.integer({ min: 1, max: Math.floor(65_536 / s.length) }).map((n) => s.repeat(n))),
      fc.constant(env.current.key.slice(0, 10)).map((k) => `${k}${'é'.repeat(2000)}`),
    );
    const where = fc.constantFrom('x-api-key', 'bearer', 'authorization');
    await fc.assert(
      fc.asyncProperty(value, where, async (raw, place) => {
        const req = request(env.server).get('/orders');
        if (place === 'x-api-key') req.set('X-API-Key', raw);
        else req.set('Authorization', place === 'bearer' ? `Bearer ${raw}` : raw);
        const res = await req;
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toContain(CHALLENGE);
        expect(Object.keys(ANSWERS)).toContain(res.body.error.code);
        expect(res.body).toEqual(answer(res.body.error.code));
        const trimmed = raw.trim();
        if (trimmed.length >= 8) expect(res.text).not.toContain(trimmed);
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
