import { auditHttp, currentAuditContext, failClosedNow, type AuditHttpOptions, type AuditTrail, type RequestAuditContext } from '@keyward/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type { AuditHttpOptions } from '@keyward/core';

/**
 * Writes one `http.request` record per request to `trail` (core's `auditHttp`, typed for
 * Express): request id (the caller's `X-Request-ID` when it is a plain token, else a new UUID,
 * echoed either way), method, route template (`req.baseUrl + req.route.path`, e.g.
 * `/orders/:id`, `null` when no route matched), status, duration, principal (`req.apiKey` from
 * `requireApiKey`, `noteAuditPrincipal`, or `options.principal`), client IP and user agent
 * (HMAC'd), the secrets read while serving it (names and versions, with `auditStore`), outcome
 * and Keyward error code (noted by `keywardErrorHandler` and `requireApiKey`).
 *
 * The client IP is `req.ip`, so Express's `trust proxy` setting decides whether
 * `X-Forwarded-For` is believed: set it to your proxies (`app.set('trust proxy', 'loopback')`,
 * a hop count, or a list), never to `true` when clients can reach the app directly.
 *
 * Mount it first (before the routes, `requireApiKey` and `keywardErrorHandler`). Without
 * `failClosed` the record is written after the response has gone and a failing sink only shows
 * in `trail.health()`; with `failClosed: true` every response waits for its record and becomes a
 * 503 `AUDIT_UNAVAILABLE` when it cannot be written (see `auditFailClosed` for single routes).
 *
 * @example
 * const trail = await createAuditTrail({ key: store.get('auditKey').reveal(), service: 'billing', file: 'logs/audit.jsonl' });
 * auditStore(trail, store);                       // names the secrets each request reads
 * app.set('trust proxy', 'loopback');             // decides req.ip, hence the recorded client
 * app.use(auditRequests(trail, { skip: (req) => req.url === '/health' }));
 * app.get('/orders/:id', requireApiKey({ verifier }), handler);
 * app.use(keywardErrorHandler());
 */
export function auditRequests(trail: AuditTrail, options: AuditHttpOptions = {}): RequestHandler {
  const audit = auditHttp(trail, options);
  return function auditRequests(req: Request, res: Response, next: NextFunction): void {
    audit(req, res, (err?: unknown) => {
      // Runs inside the request's audit context (when it is audited at all).
      const context = currentAuditContext();
      if (context !== undefined) followRoute(req, context);
      next(err);
    });
  };
}

/**
 * Keeps the route template as Express matches it: the router sets `req.route` when a route
 * matches, while `req.baseUrl` is still the mount path of its router (it is reset when an error
 * leaves that router for an app-level error handler, which would lose the prefix).
 */
function followRoute(req: Request, context: RequestAuditContext): void {
  const own = Object.getOwnPropertyDescriptor(req, 'route');
  if (own !== undefined && own.configurable !== true) return;
  let route: unknown = own?.value;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') context.route = `${req.baseUrl ?? ''}${path}`;
    },
  });
}

/**
 * Per-route fail-closed marker: the response of this route waits for its audit record and
 * becomes a 503 `AUDIT_UNAVAILABLE` when the record cannot be written within the trail's
 * `writeTimeout`. While the trail is already failing the route is refused at once (through
 * `next(err)`, for `keywardErrorHandler()`), so its handler never runs, and the trail is probed
 * so that it recovers when its sink does. Needs `auditRequests(trail)` in front of it (else
 * `CONFIG_INVALID`).
 *
 * @example
 * app.use(auditRequests(trail));
 * app.post('/payouts', auditFailClosed(trail), requireApiKey({ verifier, scopes: ['payouts:write'] }), payoutHandler);
 * app.use(keywardErrorHandler());
 */
export function auditFailClosed(trail: AuditTrail): RequestHandler {
  return function auditFailClosed(_req: Request, _res: Response, next: NextFunction): void {
    const refused = failClosedNow(trail, currentAuditContext());
    if (refused !== undefined) return next(refused);
    next();
  };
}
