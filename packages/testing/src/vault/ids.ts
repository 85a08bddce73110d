import { randomInt, randomUUID } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` characters of [0-9A-Za-z], from a CSPRNG (Vault's `base62.Random`). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

/** A request id or entity id: a UUID, as Vault prints them. */
export function newUuid(): string {
  return randomUUID();
}

/** A service token in Vault's current format (`hvs.` + 24 base62 characters). */
export function newServiceToken(): string {
  return `hvs.${randomBase62(24)}`;
}

/** A token accessor. */
export function newAccessor(): string {
  return randomBase62(24);
}

/** Go's `time.RFC3339Nano` for a UTC instant: trailing zeros of the fraction trimmed. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.600Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** Go's `time.Time.Unix()`. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
