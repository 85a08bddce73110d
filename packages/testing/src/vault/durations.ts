import { VaultHttpError } from './http-envelope.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses a Go duration (`1h30m`, `2.5s`, `500ms`; plus Vault's `d`) into milliseconds, or undefined. */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.replace(/^[-+]/, '');
  re.lastIndex = 0;
  while ((m = re.exec(body)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== body.length) return undefined;
  return sign * total;
}

/**
 * Vault's `TypeDurationSecond`: an integer number of seconds, a numeric string, or a Go duration.
 * Returns whole seconds; throws Vault's field-validation error otherwise.
 */
export function parseDurationSeconds(value: unknown, field: string): number {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string') {
    const t = value.trim();
    if (/^-?\d+$/.test(t)) return Number(t);
    const ms = parseGoDuration(t);
    if (ms !== undefined) return Math.trunc(ms / 1000);
    throw fieldError(value, field, `time: unknown unit in duration "${t}"`);
  }
  throw fieldError(value, field, 'unsupported type');
}

export function fieldError(value: unknown, field: string, why: string): VaultHttpError {
  return new VaultHttpError(400, [`Field validation failed: error converting input ${String(value)} for field "${field}": ${why}`]);
}

/** Go's `time.Duration.String()` for a number of milliseconds (`1h0m0s`, `2.5s`, `500ms`, `0s`). */
export function formatGoDuration(msIn: number): string {
  let ms = Math.round(msIn);
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${sign}${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const secMs = ms % 60_000;
  const whole = Math.floor(secMs / 1000);
  const frac = secMs % 1000;
  const secs = frac ? `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : String(whole);
  if (h > 0) return `${sign}${h}h${m}m${secs}s`;
  if (m > 0) return `${sign}${m}m${secs}s`;
  return `${sign}${secs}s`;
}
