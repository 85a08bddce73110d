import type { RequestBody } from '../aws-json-server.js';
import { invalidValue, KmsError } from './errors.js';

/** AWS names a member in validation messages in camelCase: `KeyId` -> `keyId`. */
const member = (field: string): string => field.charAt(0).toLowerCase() + field.slice(1);

/** A value of the wrong JSON type: the SDK never sends one, so KMS's parser refuses it before validation. */
const wrongType = (field: string, expected: string): KmsError =>
  new KmsError('SerializationException', `${field}: expected ${expected}.`);

export function optionalString(body: RequestBody, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw wrongType(field, 'a string');
  return value;
}

/** A required string of 1 to `max` characters (KMS's KeyId, AliasName, ... constraints). */
export function requiredString(body: RequestBody, field: string, max = 2048): string {
  const value = optionalString(body, field);
  if (value === undefined) throw new KmsError('ValidationException', `1 validation error detected: Value null at '${member(field)}' failed to satisfy constraint: Member must not be null`);
  if (value.length < 1 || value.length > max) {
    throw invalidValue(value, member(field), `Member must have length between 1 and ${max}`);
  }
  return value;
}

/** An integer in `[min, max]`, or undefined. */
export function optionalInteger(body: RequestBody, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(field, 'an integer');
  if (value < min) throw invalidValue(value, member(field), `Member must have value greater than or equal to ${min}`);
  if (value > max) throw invalidValue(value, member(field), `Member must have value less than or equal to ${max}`);
  return value;
}

export function optionalBoolean(body: RequestBody, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw wrongType(field, 'a boolean');
  return value;
}

/** One of `allowed`, or undefined; anything else is the enum ValidationException. */
export function optionalEnum<T extends string>(body: RequestBody, field: string, allowed: readonly T[]): T | undefined {
  const value = optionalString(body, field);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidValue(value, member(field), `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A blob (base64 in the JSON protocol) of 1 to `max` bytes. */
export function requiredBlob(body: RequestBody, field: string, max: number): Buffer {
  const value = body[field];
  if (value === undefined || value === null) {
    throw new KmsError('ValidationException', `1 validation error detected: Value null at '${member(field)}' failed to satisfy constraint: Member must not be null`);
  }
  if (typeof value !== 'string' || !BASE64.test(value)) throw wrongType(field, 'base64-encoded binary data');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 1 || bytes.length > max) {
    throw invalidValue('java.nio.HeapByteBuffer', member(field), `Member must have length between 1 and ${max}`);
  }
  return bytes;
}

/** An EncryptionContext map: string keys to string values; `{}` when absent. */
export function encryptionContext(body: RequestBody, field: string): Record<string, string> {
  const value = body[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw wrongType(field, 'a map of strings to strings');
  }
  return { ...(value as Record<string, string>) };
}

/** Epoch seconds with millisecond precision, as the JSON protocol carries timestamps. */
export const epochSeconds = (ms: number): number => ms / 1000;

/**
 * One page of a List operation: `Limit` (1 to `max`, default `byDefault`) items from `Marker` (the
 * emulator's markers are offsets; a marker it did not hand out is InvalidMarkerException), with
 * `Truncated` and `NextMarker` as KMS sets them.
 */
export function page<T>(body: RequestBody, items: readonly T[], max: number, byDefault: number): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const limit = optionalInteger(body, 'Limit', 1, max) ?? byDefault;
  const marker = optionalString(body, 'Marker');
  const start = marker === undefined ? 0 : Number(marker);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw new KmsError('InvalidMarkerException', 'The request was rejected because the marker is not valid.');
  const truncated = start + limit < items.length;
  return { items: items.slice(start, start + limit), Truncated: truncated, ...(truncated ? { NextMarker: String(start + limit) } : {}) };
}
