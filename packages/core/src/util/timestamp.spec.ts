import { describe, expect, it } from '@jest/globals';
import { timestampMs } from './timestamp.js';

describe('timestampMs', () => {
  it.each([
    ['2027-01-01T00:00:00Z', Date.UTC(2027, 0, 1)],
    ['2027-01-01T00:00:00.250Z', Date.UTC(2027, 0, 1) + 250],
    ['2027-01-01T01:30-00:30', Date.UTC(2027, 0, 1, 2)],
    ['2027-01-01T05:30:00+05:30', Date.UTC(2027, 0, 1)],
    ['2028-02-29', Date.UTC(2028, 1, 29)],
  ])('reads %j', (text, ms) => {
    expect(timestampMs(text)).toBe(ms);
  });

  it.each([['2027-01-01T00:00'], ['2027-01-01T00:00:00'], ['2027-01-01 00:00Z'], ['2027-1-1'], ['2027-02-29'], ['2027-13-01'], ['2027-01-01T23:60Z'], ['2027-01-01T00:00+24:00'], ['1798761600000'], ['tomorrow'], ['']])(
    'refuses %j',
    (text) => {
      expect(timestampMs(text)).toBeUndefined();
    },
  );
});
