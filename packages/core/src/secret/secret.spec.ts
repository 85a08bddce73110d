import { describe, expect, it } from '@jest/globals';
import { inspect, format } from 'node:util';
import { Secret } from './secret.js';

const CANARY = 'canary-7f3a9c1e-do-not-print';

describe('Secret', () => {
  const secret = new Secret('database', { username: 'app', password: CANARY }, { version: 'v3', fetchedAt: new Date() });

  it('shows a redacted form in every printable way', () => {
    const printed = [
      String(secret),
      `${secret}`,
      secret + '',
      JSON.stringify(secret),
      JSON.stringify({ nested: { secret } }),
      inspect(secret),
      inspect({ deep: [secret] }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, secret),
    ];
    for (const text of printed) {
      expect(text).not.toContain(CANARY);
      expect(text).toContain('[secret database@v3]');
    }
  });

  it('has no enumerable property that holds the value', () => {
    expect(Object.values(secret).join(' ')).not.toContain(CANARY);
    expect(JSON.stringify(Object.entries(secret))).not.toContain(CANARY);
    expect(JSON.stringify(structuredClone({ ...secret }))).not.toContain(CANARY);
  });

  it('reveals the value on purpose, frozen so that no consumer can change what others read', () => {
    const value = secret.reveal();
    expect(value.password).toBe(CANARY);
    expect(() => {
      (value as { password: string }).password = 'changed';
    }).toThrow(TypeError);
  });
});
