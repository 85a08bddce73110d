import { KeywardError } from '@keyward/core';

/**
 * How a `SecretString` becomes the value: `auto` (default) parses it when it is a JSON object (the
 * `{"username": ..., "password": ...}` shape) and keeps any other text as it is; `always` requires a
 * JSON object (SECRET_INVALID otherwise); `never` keeps the text.
 */
export type SecretJsonMode = 'auto' | 'always' | 'never';

/** The value of one Secrets Manager version: a parsed JSON object, a string, or the `SecretBinary` bytes as a Buffer. */
export function secretValueOf(entry: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined }, json: SecretJsonMode): unknown {
  if (entry.SecretString !== undefined) return parseSecretString(entry.SecretString, json);
  if (entry.SecretBinary !== undefined) return Buffer.from(entry.SecretBinary);
  throw new KeywardError('SECRET_INVALID', 'the secret version has neither SecretString nor SecretBinary');
}

function parseSecretString(text: string, json: SecretJsonMode): unknown {
  if (json === 'never') return text;
  const looksLikeObject = text.trimStart().startsWith('{');
  if (looksLikeObject) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
    } catch {
      // JSON.parse's message quotes the text: it must not reach an error.
    }
  }
  if (json === 'always') throw new KeywardError('SECRET_INVALID', 'the SecretString is not a JSON object (json: "always")');
  return text;
}
