import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { thrown } from '@keyward/test-support';
import { generateApiKey, MAX_API_KEY_LENGTH, parseApiKey } from './api-key-format.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';


describe('generateApiKey', () => {
  it('issues kw_<env>_<keyId>_<43 secret chars + 6 checksum chars> that parses back', () => {
    const { key, keyId } = generateApiKey({ env: 'live' });
    expect(key).toMatch(/^kw_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/);
    expect(key.split('_')[2]).toBe(keyId);
    expect(parseApiKey(key)).toEqual({ env: 'live', keyId });
  });

  it('issues a different key and keyId every time', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey({ env: 'test' }));
    expect(new Set(keys.map((k) => k.key)).size).toBe(200);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(200);
  });

  it('draws secret characters uniformly over base62 (no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      for (const ch of generateApiKey({ env: 'x' }).key.split('_')[3]!.slice(0, 43)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    // 17 200 draws: 277 expected per character. Plain `byte % 62` would give '0'..'7' 5/256 each,
    // so these eight would total about 2690 instead of 2219 (sd ≈ 44).
    expect(counts.size).toBe(62);
    const firstEight = [...'01234567'].reduce((sum, ch) => sum + counts.get(ch)!, 0);
    expect(firstEight).toBeLessThan(2450);
    for (const n of counts.values()) expect(n).toBeGreaterThan(190);
  });

  it('hides the key from util.inspect and JSON, yet hands it out via .key', () => {
    const issued = generateApiKey({ env: 'live' });
    expect(inspect(issued, { depth: 5 })).not.toContain(issued.key);
    expect(JSON.stringify(issued)).not.toContain(issued.key);
    const { key } = issued;
    expect(key).toBe(issued.key);
  });

  it.each(['', 'LIVE', 'has_underscore', 'a'.repeat(17), 'prød'])('refuses env %j with CONFIG_INVALID', (env) => {
    expect(thrown(() => generateApiKey({ env })).code).toBe('CONFIG_INVALID');
  });
});

describe('parseApiKey', () => {
  it('accepts env names up to 16 characters', () => {
    const { key } = generateApiKey({ env: 'a1'.repeat(8) });
    expect(parseApiKey(key).env).toBe('a1'.repeat(8));
  });

  it('refuses every one-character substitution as API_KEY_MALFORMED (checksum)', () => {
    const { key } = generateApiKey({ env: 'live' });
    for (let i = 0; i < key.length; i++) {
      for (const ch of BASE62 + '_-') {
        if (ch === key[i]) continue;
        const typo = key.slice(0, i) + ch + key.slice(i + 1);
        expect(thrown(() => parseApiKey(typo)).code).toBe('API_KEY_MALFORMED');
      }
    }
  });

  it('refuses swapped neighbours, a dropped or an extra character', () => {
    const { key } = generateApiKey({ env: 'live' });
    for (let i = 0; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue;
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
      expect(thrown(() => parseApiKey(swapped)).code).toBe('API_KEY_MALFORMED');
      expect(thrown(() => parseApiKey(key.slice(0, i) + key.slice(i + 1))).code).toBe('API_KEY_MALFORMED');
      expect(thrown(() => parseApiKey(key.slice(0, i) + 'Z' + key.slice(i))).code).toBe('API_KEY_MALFORMED');
    }
  });

  it('refuses over-long input, whitespace around a key and non-strings', () => {
    const { key } = generateApiKey({ env: 'live' });
    for (const input of [key + ' ', ' ' + key, `${key}\n`, 'x'.repeat(MAX_API_KEY_LENGTH + 1), undefined, null, 42, {}, [key]]) {
      expect(thrown(() => parseApiKey(input)).code).toBe('API_KEY_MALFORMED');
    }
  });

  it('never echoes the input in the error', () => {
    const { key } = generateApiKey({ env: 'live' });
    const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    try {
      parseApiKey(typo);
      throw new Error('should have failed');
    } catch (err) {
      const text = `${(err as Error).message} ${JSON.stringify(err)} ${inspect(err, { depth: 10 })}`;
      expect(text).not.toContain(typo.slice(3));
      expect(text).not.toContain(typo.split('_')[3]!.slice(0, 10));
    }
  });
});
