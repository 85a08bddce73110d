import { invalidParameter } from './errors.js';

/** A decoded JSON request body of one operation. */
export type RequestBody = Readonly<Record<string, unknown>>;

export function optionalString(body: RequestBody, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`Invalid type for parameter ${field}: expected a string.`);
  return value;
}

export function requiredString(body: RequestBody, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw invalidParameter(`You must provide a value for the ${field} parameter.`);
  return value;
}

export function optionalNumber(body: RequestBody, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParameter(`Invalid type for parameter ${field}: expected a number.`);
  return value;
}

export function optionalBoolean(body: RequestBody, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParameter(`Invalid type for parameter ${field}: expected a boolean.`);
  return value;
}

export function optionalStringList(body: RequestBody, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidParameter(`Invalid type for parameter ${field}: expected a list of strings.`);
  return value as string[];
}

/** ClientRequestToken: 32 to 64 characters (the API reference's length constraint). */
export function clientRequestToken(body: RequestBody): string | undefined {
  const token = optionalString(body, 'ClientRequestToken');
  if (token !== undefined && (token.length < 32 || token.length > 64)) {
    throw invalidParameter('ClientRequestToken must be 32-64 characters long.');
  }
  return token;
}

/** Epoch seconds with millisecond precision, as the JSON protocol carries timestamps. */
export const epochSeconds = (ms: number): number => ms / 1000;
