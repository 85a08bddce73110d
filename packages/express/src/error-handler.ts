import { KeywardError, type KeywardErrorCode } from '@keyward/core';
import type { ErrorRequestHandler } from 'express';

/** The status and the public text for each code. Internal detail (names, paths) stays out of responses. */
const RESPONSES: Record<KeywardErrorCode, { status: number; message: string }> = {
  SECRET_STALE: { status: 503, message: 'A secret this service needs is temporarily unavailable.' },
  SECRET_NOT_LOADED: { status: 503, message: 'This service is starting or has lost a secret it needs.' },
  SECRETS_UNAVAILABLE: { status: 503, message: 'Secrets this service needs are unavailable.' },
  PROVIDER_UNAVAILABLE: { status: 503, message: 'A secrets backend is unavailable.' },
  PROVIDER_TIMEOUT: { status: 503, message: 'A secrets backend did not answer in time.' },
  STORE_CLOSED: { status: 503, message: 'This service is shutting down.' },
  PROVIDER_REFUSED: { status: 500, message: 'This service is misconfigured.' },
  CONFIG_INVALID: { status: 500, message: 'This service is misconfigured.' },
  SECRET_NOT_DECLARED: { status: 500, message: 'This service is misconfigured.' },
  SECRET_INVALID: { status: 500, message: 'A secret this service needs is invalid.' },
  SECRET_NOT_FOUND: { status: 500, message: 'A secret this service needs is missing.' },
  PERMISSION_DENIED: { status: 500, message: 'This service may not read a secret it needs.' },
};

export interface KeywardErrorHandlerOptions {
  /** Called with every Keyward error before the response is sent (log it here: messages hold names, never values). */
  readonly onError?: (error: KeywardError) => void;
  /** Seconds for `Retry-After` on 503 answers (default 5). */
  readonly retryAfterSeconds?: number;
}

/**
 * Turns Keyward errors into safe JSON answers (`{ error: { code, message } }`) with a fitting
 * status; anything else goes on to the next error handler.
 *
 * @example
 * app.use(keywardErrorHandler({ onError: (err) => logger.warn(err.message) }));
 */
export function keywardErrorHandler(options: KeywardErrorHandlerOptions = {}): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (!(err instanceof KeywardError)) return next(err);
    options.onError?.(err);
    if (res.headersSent) return next(err);
    const { status, message } = RESPONSES[err.code] ?? { status: 500, message: 'Internal error.' };
    res.status(status).set('Cache-Control', 'no-store');
    if (status === 503) res.set('Retry-After', String(options.retryAfterSeconds ?? 5));
    res.json({ error: { code: err.code, message } });
  };
}
