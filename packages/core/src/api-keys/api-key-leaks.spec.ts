import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { httpAnswerFor, KeywardError } from '../errors/index.js';
import { createApiKeyVerifier } from './api-key-verifier.js';
import { createApiKey, revokeApiKey, rotateApiKey } from './key-rotation.js';
import { emptyKeyRing, parseKeyRing, type KeyRing } from './key-ring.js';

const PEPPER = 'canary-pepper-0123456789abcdef';
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Every way a value can leave the process in text. */
function printed(value: unknown): string {
  return [inspect(value, { depth: 20, showHidden: false }), JSON.stringify(value) ?? '', String(value)].join('\n');
}

describe('a full API key never leaks', () => {
  it('not through ring JSON, results, errors or HTTP answers', () => {
    const a = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['read'], pepper: PEPPER, now: T0 });
    const b = rotateApiKey(a.ring, { client: 'billing', grace: '1h', env: 'live', pepper: PEPPER, now: T0 });
    let ring: KeyRing = b.ring;
    const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER, now: () => T0 + 60_000 });
    // The canaries: each full key and its secret part alone.
    const canaries = [a.key, b.key, a.key.split('_')[3]!, b.key.split('_')[3]!, PEPPER];

    const outputs: unknown[] = [a, b, a.ring, b.ring, JSON.stringify(b.ring), parseKeyRing(JSON.stringify(b.ring))];
    outputs.push(verifier.verify(b.key), verifier.verify(a.key), verifier.usage());
    const failures: unknown[] = [];
    const attempt = (presented: string, scopes?: string[]) => {
      try {
        verifier.verify(presented, { scopes });
      } catch (err) {
        failures.push(err);
      }
    };
    attempt(b.key, ['admin']); // SCOPE
    attempt(b.key.slice(0, -1) + (b.key.endsWith('x') ? 'y' : 'x')); // MALFORMED
    ring = revokeApiKey(ring, b.keyId, { now: T0 });
    attempt(b.key); // REVOKED
    ring = parseKeyRing(JSON.stringify({ ...ring, keys: ring.keys.filter((e) => e.keyId !== a.keyId) }));
    attempt(a.key); // UNKNOWN
    expect(failures.map((e) => (e as KeywardError).code)).toEqual(['API_KEY_SCOPE', 'API_KEY_MALFORMED', 'API_KEY_REVOKED', 'API_KEY_UNKNOWN']);
    outputs.push(...failures, ...failures.map((e) => httpAnswerFor(e as KeywardError)));

    const text = outputs.map(printed).join('\n');
    for (const canary of canaries) expect(text).not.toContain(canary);
  });

  it('answers API key failures with 401, a missing scope with 403', () => {
    const status = (code: KeywardError['code']) => httpAnswerFor(new KeywardError(code, 'x')).status;
    for (const code of ['API_KEY_MISSING', 'API_KEY_MALFORMED', 'API_KEY_UNKNOWN', 'API_KEY_REVOKED', 'API_KEY_EXPIRED'] as const) expect(status(code)).toBe(401);
    expect(status('API_KEY_SCOPE')).toBe(403);
  });
});
