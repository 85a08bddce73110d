import { describe, expect, it } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['30 s', 30_000],
    ['  2m  ', 120_000],
    ['1.5s', 1500],
    ['1m500ms', 60_500],
    ['0s', 0],
    ['36500d', 36_500 * 86_400_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('takes a non-negative finite number as milliseconds', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration(1.5)).toBe(1.5);
  });

  it.each([['garbage'], [''], ['ms'], ['10'], ['24'], ['0'], ['36501d'], ['1.'], [1e300], [36_500 * 86_400_000 + 1], ['5 minutes'], ['-5s'], ['5s garbage'], ['5x'], ['1h30'], ['3 0s'], ['1h,30m'], [-1], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'refuses %j with CONFIG_INVALID naming the setting',
    (value) => {
      let caught: unknown;
      try {
        parseDuration(value, 'maxStaleness');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(KeywardError);
      expect((caught as KeywardError).code).toBe('CONFIG_INVALID');
      expect((caught as KeywardError).message).toContain('maxStaleness');
    },
  );

  it('says what a bare number lacks and which units exist', () => {
    expect(() => parseDuration('24', '--grace')).toThrow(/--grace .*no unit.*ms, s, m, h, d.*'24h'/);
  });

  it('refuses digits that would overflow to Infinity', () => {
    expect(() => parseDuration('9'.repeat(400), 'timeout')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseDuration(`${'9'.repeat(400)}s`, 'timeout')).toThrow(/timeout .*at most 36500d/);
  });

  it('refuses an absurd length, naming the limit', () => {
    expect(() => parseDuration('100000d', '--grace')).toThrow(/--grace .*at most 36500d/);
    expect(() => parseDuration(Number.MAX_VALUE, 'timeout')).toThrow(/timeout .*at most 36500d/);
  });

  it('never quotes the text it refuses (it may be a secret pasted in the wrong place)', () => {
    const pasted = 'Zq9s-pasted-8f1e2d3c4b5a';
    expect(() => parseDuration(pasted, '--grace')).toThrow(expect.objectContaining({ message: expect.not.stringContaining(pasted) }));
    expect(() => parseDuration(pasted, '--grace')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('8f1e2d3c') }));
  });
});
