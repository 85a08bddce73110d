import { httpAnswerFor, KeywardError, noteAuditError } from '@keyward/core';
import type { ErrorRequestHandler } from 'express';

/**
 * Options of `keywardErrorHandler()`: a hook to log Keyward errors and the `Retry-After` of 503 answers.
 */
export interface KeywardErrorHandlerOptions {
  /** Called with every Keyward error before the response is sent (log it here: messages hold names, never values). */
  readonly onError?: (error: KeywardError) => void;
  /** Seconds for `Retry-After` on 503 answers (default 5). */
  readonly retryAfterSeconds?: number;
}

/**
 * Turns Keyward errors into safe JSON answers (`{ error: { code, message } }`) with a fitting
 * status; anything else goes on to the next error handler. Under `auditRequests()`, the error's
 * code (never its message) goes into the request's audit record.
 *
 * @example
 * app.use(keywardErrorHandler({ onError: (err) => logger.warn(err.message) }));
 */
export function keywardErrorHandler(options: KeywardErrorHandlerOptions = {}): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (!KeywardError.is(err)) return next(err);
    noteAuditError(err.code);
    options.onError?.(err);
    if (res.headersSent) return next(err);
    const { status, headers, body } = httpAnswerFor(err, options);
    res.status(status).set(headers).json(body);
  };
}
