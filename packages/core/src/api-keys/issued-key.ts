/** A freshly issued key. `key` is non-enumerable: logging or serialising the result does not print it. */
export interface IssuedApiKey {
  /** The full key: hand it to the client now, it is never available again. */
  readonly key: string;
  readonly keyId: string;
}

/** Internal (not re-exported): puts the full key on a non-enumerable property, as pg-pool hides `password`. */
export function issued<T extends object>(key: string, keyId: string, extra?: T): IssuedApiKey & T {
  const result = { keyId, ...extra } as IssuedApiKey & T;
  Object.defineProperty(result, 'key', { value: key, enumerable: false });
  return result;
}
