import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KeywardError } from '../errors/index.js';
import { generateApiKey, parseApiKey } from './api-key-format.js';
import { createApiKeyVerifier } from './api-key-verifier.js';
import { createApiKey } from './key-rotation.js';
import { emptyKeyRing } from './key-ring.js';

const PEPPER = 'pepper-for-properties';
const issued = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['a'], pepper: PEPPER });
const verifier = createApiKeyVerifier({ ring: () => issued.ring, pepper: () => PEPPER });

/** The only messages an API key failure may have: fixed texts, nothing taken from the input. */
const MESSAGES = new Set([
  'no API key was presented',
  'the API key is malformed',
  'the API key is not known',
  'the API key has been revoked',
  'the API key has expired',
]);

const base62 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const b62 = (n: number) => fc.string({ unit: base62, minLength: n, maxLength: n });

/** Anything a client could send: noise, unicode, near-keys, mutated real keys, huge headers. */
const presented = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.tuple(fc.stringMatching(/^[a-z0-9]{1,16}$/), b62(12), b62(49)).map(([env, id, rest]) => `kw_${env}_${id}_${rest}`),
  fc.tuple(fc.nat(issued.key.length - 1), fc.string({ minLength: 1, maxLength: 2 })).map(([i, s]) => issued.key.slice(0, i) + s + issued.key.slice(i + 1)),
  fc.constantFrom('', 'kw_', 'kw___', '\u0000', '🔑'.repeat(100), 'x'.repeat(65_536), `${issued.key}${'\u0301'.repeat(40_000)}`),
);

function failureOf(fn: () => unknown): KeywardError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof KeywardError)) throw err;
    return err;
  }
}

function expectSafeFailure(err: KeywardError | undefined, input: string): void {
  expect(err).toBeInstanceOf(KeywardError);
  expect(err!.code).toMatch(/^API_KEY_/);
  expect(MESSAGES.has(err!.message)).toBe(true);
  if (input.length >= 8) expect(err!.message.includes(input)).toBe(false);
}

describe('API key parsing and verification are total', () => {
  it('parseApiKey gives a result or API_KEY_MALFORMED for any string, without echoing it', () => {
    fc.assert(
      fc.property(presented, (input) => {
        const err = failureOf(() => parseApiKey(input));
        if (err === undefined) return; // a random well-formed key with a right checksum: possible, rare
        expect(err.code).toBe('API_KEY_MALFORMED');
        expectSafeFailure(err, input);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseApiKey refuses any non-string value with API_KEY_MALFORMED', () => {
    fc.assert(fc.property(fc.anything(), (value) => expect(failureOf(() => parseApiKey(value))?.code).toBe('API_KEY_MALFORMED')));
  });

  it('verify accepts only the issued key and refuses everything else with an API_KEY_* code', () => {
    fc.assert(
      fc.property(presented, (input) => {
        const err = failureOf(() => verifier.verify(input));
        if (input === issued.key) return expect(err).toBeUndefined();
        expectSafeFailure(err, input);
      }),
      { numRuns: 2000 },
    );
  });

  it('verify refuses a freshly generated, well-formed key of any env as API_KEY_UNKNOWN', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,16}$/), (env) => {
        expect(failureOf(() => verifier.verify(generateApiKey({ env }).key))?.code).toBe('API_KEY_UNKNOWN');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses 64 KiB of input as API_KEY_MALFORMED before reading the ring', () => {
    let reads = 0;
    const counting = createApiKeyVerifier({ ring: () => (reads++, issued.ring), pepper: () => PEPPER });
    for (const huge of ['kw_live_'.padEnd(65_536, 'A'), issued.key.repeat(800), '\uD800'.repeat(65_536)]) {
      expectSafeFailure(failureOf(() => counting.verify(huge)), huge);
    }
    expect(reads).toBe(0);
  });
});
