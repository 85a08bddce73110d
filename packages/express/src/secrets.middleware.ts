import type { SecretDeclarations, SecretStore } from '@keyward/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** What a handler may do with secrets: read the declared ones, nothing else. */
export type SecretReader<D extends SecretDeclarations = SecretDeclarations> = Pick<SecretStore<D>, 'get' | 'has'>;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The store's secrets, put there by `keywardSecrets(store)`. Use `secrets.of(req)` for typed names. */
      secrets?: SecretReader;
    }
  }
}

/** The middleware, plus a typed way to reach the reader from a request. */
export interface SecretsMiddleware<D extends SecretDeclarations> extends RequestHandler {
  /** The typed reader of this request (throws if the middleware did not run on it). */
  of(req: Request): SecretReader<D>;
}

/**
 * Exposes a started store's secrets to handlers as `req.secrets`. Handlers read from memory:
 * no request waits on a secrets backend.
 *
 * @example
 * const secrets = keywardSecrets(store);
 * app.use(secrets);
 * app.get('/charge', (req, res) => {
 *   const key = secrets.of(req).get('stripeKey').reveal();   // typed by the store's declarations
 * });
 */
export function keywardSecrets<D extends SecretDeclarations>(store: SecretStore<D>): SecretsMiddleware<D> {
  const reader: SecretReader<D> = {
    get: (name) => store.get(name),
    has: (name) => store.has(name),
  };
  const middleware = ((req: Request, _res: Response, next: NextFunction) => {
    req.secrets = reader as unknown as SecretReader;
    next();
  }) as SecretsMiddleware<D>;
  middleware.of = (req) => {
    if (req.secrets === undefined) throw new Error('keywardSecrets() has not run on this request: add app.use(keywardSecrets(store)) before this route');
    return req.secrets as unknown as SecretReader<D>;
  };
  return middleware;
}
