import { KeywardError } from '../errors/index.js';

/** Milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'24h'`, `'7d'`, `'1h30m'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A `Duration` in milliseconds; `CONFIG_INVALID` (naming `what`) for text that is not one.
 *
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    // Spaces may follow a number or a part ('30 s', '1h 30m'); anything else between parts is refused.
    const text = value.trim();
    // A bare number, as environment variables give them: milliseconds.
    if (/^\d+$/.test(text)) return Number(text);
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/g)];
    if (parts.length > 0 && parts.map((p) => p[0]).join('') === text) {
      return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
    }
  }
  throw new KeywardError('CONFIG_INVALID', `${what} must be milliseconds or a string like '30s', '5m', '24h' (got ${JSON.stringify(value)})`);
}
