import { describe, expect, it } from '@jest/globals';
import { redactValues } from './redact.js';

describe('redactValues', () => {
  it('removes every string in the value, nested, and numbers too', () => {
    const value = { username: 'app-user', nested: { password: 's3cr3t-pw' }, list: ['token-abc'], pin: 123456 };
    const text = 'got app-user / s3cr3t-pw / token-abc / 123456';
    expect(redactValues(text, value)).toBe('got [redacted] / [redacted] / [redacted] / [redacted]');
  });

  it('removes fragments a parser may quote, and the JSON-escaped form a validator prints', () => {
    expect(redactValues('unexpected token near hunter2', 'user=admin password=hunter2')).toBe('unexpected token near [redacted]');
    expect(redactValues('(was "line\\none\\u0001")', 'line\none\u0001')).toBe('(was "[redacted]")');
  });

  it('leaves key names and short strings alone', () => {
    expect(redactValues('password: Required', { password: 'longer-value' })).toBe('password: Required');
    expect(redactValues('ab is fine', 'ab')).toBe('ab is fine');
  });
});
