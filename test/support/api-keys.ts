import { expect } from '@jest/globals';
import { API_KEY_CHALLENGE, createApiKey, createApiKeyVerifier, emptyKeyRing, rotateApiKey, type KeyRing } from '@keyward/core';
import type request from 'supertest';

export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const HOUR = 3_600_000;

/** The fixed public message per code: what every refusal must answer, whatever was presented. */
export const ANSWERS = {
  API_KEY_MISSING: 'An API key is required.',
  API_KEY_MALFORMED: 'The API key is malformed.',
  API_KEY_UNKNOWN: 'The API key is not valid.',
  API_KEY_REVOKED: 'The API key has been revoked.',
  API_KEY_EXPIRED: 'The API key has expired.',
  API_KEY_SCOPE: 'The API key does not grant access to this resource.',
} as const;
export type ApiKeyCode = keyof typeof ANSWERS;
export const answer = (code: ApiKeyCode) => ({ error: { code, message: ANSWERS[code] } });

/** billing's key rotated once at T0 with a 24h grace; the verifier's clock starts an hour later. */
export function rotatedRing(pepper: string) {
  const previous = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read', 'orders:write'], pepper, now: T0 - HOUR });
  const current = rotateApiKey(previous.ring, { client: 'billing', grace: '24h', env: 'live', pepper, now: T0 });
  const clock = { now: T0 + HOUR };
  const state: { ring: KeyRing } = { ring: current.ring };
  const verifier = createApiKeyVerifier({ ring: () => state.ring, pepper: () => pepper, now: () => clock.now });
  return { previous, current, clock, state, verifier };
}

/** A 401 with the challenge, no caching, the fixed body for `code`, and never the presented value. */
export function expectRefused(res: request.Response, code: ApiKeyCode, presented?: string): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toContain(API_KEY_CHALLENGE);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toEqual(answer(code));
  if (presented !== undefined) expect(res.text).not.toContain(presented);
}

/**
 * The 401 challenge for a key presented as its own header or as a bearer token: one table for the
 * Express and the Nest suites, so both frameworks are held to the same header for the same request.
 */
export const CHALLENGE_BY_PRESENTATION = [
  { header: (key: string) => ['X-API-Key', key] as const, challenge: 'ApiKey realm="keyward"' },
  { header: (key: string) => ['Authorization', `Bearer ${key}`] as const, challenge: 'ApiKey realm="keyward", Bearer realm="keyward", error="invalid_token"' },
] as const;

/** Sends an unknown and a malformed key each way of `CHALLENGE_BY_PRESENTATION`; each must be a 401 with that way's challenge. */
export async function expectChallengeByPresentation(send: (header: readonly [string, string]) => Promise<request.Response>, pepper: string): Promise<void> {
  const unknown = createApiKey(emptyKeyRing(), { client: 'x', env: 'live', scopes: [], pepper }).key;
  for (const { header, challenge } of CHALLENGE_BY_PRESENTATION) {
    for (const key of [unknown, 'kw_live_nope']) {
      const res = await send(header(key));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(challenge);
    }
  }
}
