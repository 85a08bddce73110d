import { KeywardError } from '../errors/index.js';

/** Milliseconds, or a string with units such as `'500ms'`, `'30s'`, `'5m'`, `'24h'`, `'7d'`, `'1h30m'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNITS = 'ms, s, m, h, d';
/** 100 years: longer is a typo, and would overflow dates (`now + grace`) or sum to `Infinity`. */
const MAX_DAYS = 36_500;
const MAX_MS = MAX_DAYS * UNIT_MS['d']!;

/**
 * A `Duration` in milliseconds: a number is milliseconds, a string needs a unit on every part
 * (`'24'` is refused: hours? seconds?). `CONFIG_INVALID` naming `what`, never quoting the text
 * (it may be a secret pasted in the wrong place), for anything else or longer than 36500 days.
 *
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) ms = value;
  } else if (typeof value === 'string') {
    // Spaces may follow a number or a part ('30 s', '1h 30m'); anything else between parts is refused.
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      throw new KeywardError('CONFIG_INVALID', `${what} is a number with no unit: add one of ${UNITS}, e.g. '24h'`);
    }
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === text) {
      ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
    }
  }
  if (ms === undefined) throw new KeywardError('CONFIG_INVALID', `${what} must be milliseconds or a string with units (${UNITS}), e.g. '30s', '5m', '24h', '7d'`);
  if (!(ms <= MAX_MS)) throw new KeywardError('CONFIG_INVALID', `${what} is too long: at most ${MAX_DAYS}d`);
  return ms;
}
