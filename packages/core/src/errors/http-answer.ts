import type { KeywardError, KeywardErrorCode } from './keyward-error.js';

/** What an HTTP service answers for a Keyward error: a status and a public message, never the internal detail. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: { readonly code: KeywardErrorCode; readonly message: string } };
}

const ANSWERS: Record<KeywardErrorCode, readonly [status: number, message: string]> = {
  SECRET_STALE: [503, 'A secret this service needs is temporarily unavailable.'],
  SECRET_NOT_LOADED: [503, 'This service is starting or has lost a secret it needs.'],
  SECRETS_UNAVAILABLE: [503, 'Secrets this service needs are unavailable.'],
  PROVIDER_UNAVAILABLE: [503, 'A secrets backend is unavailable.'],
  PROVIDER_TIMEOUT: [503, 'A secrets backend did not answer in time.'],
  STORE_CLOSED: [503, 'This service is shutting down.'],
  POOL_CLOSED: [503, 'This service is shutting down.'],
  POOL_TIMEOUT: [503, 'The database is busy; try again.'],
  PROVIDER_REFUSED: [500, 'This service is misconfigured.'],
  CONFIG_INVALID: [500, 'This service is misconfigured.'],
  SECRET_NOT_DECLARED: [500, 'This service is misconfigured.'],
  SECRET_INVALID: [500, 'A secret this service needs is invalid.'],
  SECRET_NOT_FOUND: [500, 'A secret this service needs is missing.'],
  PERMISSION_DENIED: [500, 'This service may not read a secret it needs.'],
  API_KEY_MISSING: [401, 'An API key is required.'],
  API_KEY_MALFORMED: [401, 'The API key is malformed.'],
  API_KEY_UNKNOWN: [401, 'The API key is not valid.'],
  API_KEY_REVOKED: [401, 'The API key has been revoked.'],
  API_KEY_EXPIRED: [401, 'The API key has expired.'],
  API_KEY_SCOPE: [403, 'The API key does not grant access to this resource.'],
  KEY_RING_CONFLICT: [409, 'The key ring changed meanwhile; try again.'],
  AUDIT_UNAVAILABLE: [503, 'This service cannot record its audit trail; try again.'],
  AUDIT_CLOSED: [503, 'This service is shutting down.'],
  DECRYPT_FAILED: [500, 'Stored data could not be decrypted.'],
  KEK_UNAVAILABLE: [503, 'The key service is unavailable; try again.'],
  KEK_DISABLED: [500, 'Stored data is encrypted under a key that is no longer allowed.'],
  ENVELOPE_MALFORMED: [500, 'Stored data could not be decrypted.'],
  ENVELOPE_VERSION: [500, 'Stored data could not be decrypted.'],
};

/**
 * The answer the framework adapters send for a Keyward error. Messages are fixed per code, so
 * secret names and paths (which are in the error's own message) never reach a client.
 *
 * @example
 * const { status, headers, body } = httpAnswerFor(err, { retryAfterSeconds: 5 });
 */
export function httpAnswerFor(error: KeywardError, options: { retryAfterSeconds?: number } = {}): HttpAnswer {
  const [status, message] = ANSWERS[error.code] ?? [500, 'Internal error.'];
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (status === 503) headers['Retry-After'] = String(options.retryAfterSeconds ?? 5);
  return { status, headers, body: { error: { code: error.code, message } } };
}
