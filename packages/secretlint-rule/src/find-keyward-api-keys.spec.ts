import { describe, expect, it } from '@jest/globals';
import { generateApiKey } from '@keyward/core';
import { findKeywardApiKeys } from './find-keyward-api-keys.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function random(length: number, alphabet = ALPHABET): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

/** `key` with one character of its secret or checksum replaced by another of the alphabet. */
function typo(key: string, fromEnd: number): string {
  const i = key.length - fromEnd;
  const other = ALPHABET[(ALPHABET.indexOf(key[i]!) + 1) % ALPHABET.length]!;
  return key.slice(0, i) + other + key.slice(i + 1);
}

describe('findKeywardApiKeys', () => {
  const live = generateApiKey({ env: 'live' });
  const test = generateApiKey({ env: 'test' });

  it.each([
    ['plain text', (k: string) => `the key is ${k}, keep it safe`],
    ['a JSON string', (k: string) => JSON.stringify({ partner: { apiKey: k } }, null, 2)],
    ['a JSON string after an escaped newline', (k: string) => JSON.stringify({ note: `line\n${k}` })],
    ['YAML', (k: string) => `partner:\n  api_key: ${k}\n  quoted: "x"\n`],
    ['a .env line', (k: string) => `# partner\nKEYWARD_API_KEY=${k}\nOTHER=1\n`],
    ['a quoted .env line', (k: string) => `KEYWARD_API_KEY='${k}'`],
    ['a URL query', (k: string) => `curl "https://api.example.com/v1/reports?api_key=${k}&page=2"`],
    ['a header', (k: string) => `-H 'x-api-key: ${k}'`],
  ])('finds a real key in %s, with its key id, env and exact range', (_where, embed) => {
    const text = embed(live.key);
    const [found, ...rest] = findKeywardApiKeys(text);
    expect(rest).toEqual([]);
    expect(found).toEqual({ keyId: live.keyId, env: 'live', start: text.indexOf(live.key), end: text.indexOf(live.key) + live.key.length });
  });

  it('finds every key of a text, in order', () => {
    const text = `A=${live.key}\nB=${test.key}\nC=${live.key}\n`;
    expect(findKeywardApiKeys(text).map(({ keyId, env }) => [keyId, env])).toEqual([
      [live.keyId, 'live'],
      [test.keyId, 'test'],
      [live.keyId, 'live'],
    ]);
  });

  it.each([1, 3, 6, 7, 20, 49])('does not report a key with one character changed %i from the end (the checksum fails)', (fromEnd) => {
    expect(findKeywardApiKeys(`KEYWARD_API_KEY=${typo(live.key, fromEnd)}`)).toEqual([]);
  });

  it.each([
    ['a letter before it', (k: string) => `x${k}`],
    ['a digit before it', (k: string) => `9${k}`],
    ['an underscore before it', (k: string) => `MY_${k}`],
    ['a letter after it', (k: string) => `${k}Z`],
    ['an underscore after it', (k: string) => `${k}_v2`],
  ])('does not report a key inside a longer token (%s)', (_what, embed) => {
    expect(findKeywardApiKeys(embed(live.key))).toEqual([]);
  });

  it('reports nothing in 100,000 random strings of the key alphabet and shape (random checksums)', () => {
    const started = Date.now();
    let reported = 0;
    for (let batch = 0; batch < 100; batch++) {
      const lines: string[] = [];
      for (let i = 0; i < 1000; i++) lines.push(`KEY_${i}=kw_${random(1 + (i % 16), 'abcdefghijklmnopqrstuvwxyz0123456789')}_${random(12)}_${random(49)}`);
      const text = lines.join('\n');
      // The shape matches every line: only the checksum tells them from keys.
      expect(text.match(/^KEY_\d+=kw_[a-z0-9]{1,16}_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/gm)).toHaveLength(1000);
      reported += findKeywardApiKeys(text).length;
    }
    expect(reported).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('reports nothing in text without keys, and takes long hostile input in linear time', () => {
    expect(findKeywardApiKeys('')).toEqual([]);
    expect(findKeywardApiKeys('kw_live_ kw__ kw_live_abc_def')).toEqual([]);
    const started = Date.now();
    expect(findKeywardApiKeys(`kw_${'a'.repeat(16)}_`.repeat(50_000) + 'kw_a_' + 'A'.repeat(1_000_000))).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
