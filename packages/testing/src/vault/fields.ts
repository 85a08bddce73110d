import { fieldError, parseDurationSeconds } from './durations.js';

/** Reads request fields the way Vault's framework.FieldData converts them (weakly typed input). */
export class Fields {
  constructor(private readonly raw: Readonly<Record<string, unknown>>) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  string(name: string, fallback = ''): string {
    const v = this.raw[name];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw fieldError(JSON.stringify(v), name, 'expected a string');
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string' && /^(1|t|true)$/i.test(v)) return true;
    if (typeof v === 'string' && /^(0|f|false)$/i.test(v)) return false;
    throw fieldError(v, name, 'cannot parse as bool');
  }

  int(name: string, fallback = 0): number {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw fieldError(v, name, 'cannot parse as int');
    return Math.trunc(n);
  }

  /** TypeDurationSecond, in whole seconds. */
  seconds(name: string, fallback = 0): number {
    return this.has(name) ? parseDurationSeconds(this.raw[name], name) : fallback;
  }

  /** TypeStringSlice: a string becomes a one-element list. */
  stringList(name: string): string[] {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return [];
    if (Array.isArray(v)) return v.map((x) => String(x).trim());
    return [String(v).trim()];
  }

  /** TypeCommaStringSlice: a string is split on commas. */
  commaList(name: string): string[] {
    const v = this.raw[name];
    if (v === undefined || v === null || v === '') return [];
    const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
    return items.map((x) => x.trim()).filter((x) => x !== '');
  }

  /** TypeMap (or TypeKVPairs). */
  map(name: string): Record<string, unknown> | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    throw fieldError(JSON.stringify(v), name, 'expected a map');
  }
}
