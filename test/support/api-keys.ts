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
