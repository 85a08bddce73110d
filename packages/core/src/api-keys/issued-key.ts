import type { IssuedApiKey } from './api-key-format.js';

/** Internal (not re-exported): puts the full key on a non-enumerable property, as pg-pool hides `password`. */
export function issued<T extends object>(key: string, keyId: string, extra?: T): IssuedApiKey & T {
  const result = { keyId, ...extra } as IssuedApiKey & T;
  Object.defineProperty(result, 'key', { value: key, enumerable: false });
  return result;
}
