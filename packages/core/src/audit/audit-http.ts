import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpAnswerFor } from '../errors/http-answer.js';
import { KeywardError } from '../errors/keyward-error.js';
import { runWithAuditContext, type RequestAuditContext } from './audit-context.js';
import type { AuditActor, AuditEntry, AuditSecretRead } from './audit-record.js';
import { RECORD_UNAWAITED, type AuditTrail } from './audit-trail.js';

/**
 * Options of `auditHttp()` (and the frameworks' audit middleware): request ids, principal, fail-closed, skips.
 */
export interface AuditHttpOptions {
  /** Where a caller's request id is read from and echoed to (default `x-request-id`); one is made when absent or not a plain token. */
  readonly requestIdHeader?: string;
  /** Who the request acts for, when neither an API key nor `noteAuditPrincipal` says (e.g. your session's user). */
  readonly principal?: (req: IncomingMessage) => AuditActor | undefined;
  /** Every response waits for its record and is a 503 when it cannot be written (default `false`; per route with the framework's marker). */
  readonly failClosed?: boolean;
  /** Requests not recorded at all (e.g. a load balancer's health checks). */
  readonly skip?: (req: IncomingMessage) => boolean;
}

/** The `next` callback of Connect-style middleware (Express's `NextFunction`), as `auditHttp()` calls it. */
export type Next = (err?: unknown) => void;
type EndArgs = unknown[];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What the frameworks leave on the request (Express: `ip`, `baseUrl`, `route`; Keyward's guards: `apiKey`). */
interface FrameworkRequest extends IncomingMessage {
  ip?: string;
  baseUrl?: string;
  route?: { path?: unknown };
  apiKey?: { keyId: string; client: string };
}

/**
 * Connect-style middleware (Express, and Nest on Express) that writes one audit record per
 * request: id, method, route template, status, duration, principal, client IP (Express's
 * `trust proxy` decides which), user agent, the secrets read while serving it, outcome and error
 * code. Without `failClosed` the record is written once the response has gone (a failure is
 * counted in the trail's health); with it the response waits for its record and becomes a 503
 * when the record cannot be written within the trail's `writeTimeout`.
 *
 * @example app.use(auditHttp(trail, { failClosed: false }));
 */
export function auditHttp(trail: AuditTrail, options: AuditHttpOptions = {}) {
  const idHeader = (options.requestIdHeader ?? 'x-request-id').toLowerCase();
  const unawaited = (trail as { [RECORD_UNAWAITED]?: (entry: AuditEntry) => void })[RECORD_UNAWAITED];
  const recordUnawaited = unawaited !== undefined ? unawaited : (entry: AuditEntry) => void trail.record(entry).catch(() => {});

  return function keywardAudit(req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (options.skip?.(req) === true) return next();
    const started = performance.now();
    const presented = req.headers[idHeader];
    const id = typeof presented === 'string' && REQUEST_ID.test(presented) ? presented : randomUUID();
    res.setHeader(idHeader, id);
    let recorded = false;
    let failClosed = false;
    let originalEnd: ((...args: EndArgs) => ServerResponse) | undefined;
    /** Fail-closed: from now on the response leaves only once its record is written (res.end is held until then). */
    const holdEnd = () => {
      if (originalEnd !== undefined) return;
      const end = (originalEnd = res.end.bind(res) as unknown as (...args: EndArgs) => ServerResponse);
      res.end = function auditedEnd(this: ServerResponse, ...args: EndArgs): ServerResponse {
        if (!failClosed || recorded) return end(...args);
        recorded = true;
        trail.record(entry(res.statusCode, false)).then(
          () => end(...args),
          () => {
            if (res.headersSent) return end(...args); // streamed: too late to answer otherwise; the trail counted it
            refuse(res, end);
          },
        );
        return res;
      } as unknown as ServerResponse['end'];
    };
    // res.end is wrapped only once a request turns fail-closed (here, or a route's marker later):
    // a wrapped end on every response cost about 4% of the throughput.
    const context: RequestAuditContext = {
      id,
      secrets: new Map(),
      get failClosed() {
        return failClosed;
      },
      set failClosed(on: boolean) {
        failClosed = on;
        if (on) holdEnd();
      },
    };
    context.failClosed = options.failClosed === true;

    const entry = (status: number, aborted: boolean): AuditEntry => {
      const r = req as FrameworkRequest;
      const userAgent = req.headers['user-agent'];
      const ip = r.ip ?? req.socket.remoteAddress;
      const errorCode = aborted ? 'REQUEST_ABORTED' : context.errorCode;
      return {
        event: 'http.request',
        actor: actorOf(r, context, options.principal),
        outcome: aborted || status >= 500 || (status >= 400 && status !== 401 && status !== 403) ? 'failure' : status === 401 || status === 403 ? 'denied' : 'success',
        request: {
          id,
          method: req.method ?? 'GET',
          route: context.route ?? routeOf(r),
          status,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          ...(ip === undefined ? {} : { ip }),
          ...(typeof userAgent === 'string' ? { userAgent: userAgent.slice(0, 512) } : {}),
        },
        secrets: secretsRead(context.secrets),
        ...(errorCode === undefined ? {} : { error: { code: errorCode } }),
      };
    };

    // 'close' follows 'finish' (Node emits it once the response is done), or comes alone when the
    // client went away first: one listener serves both.
    res.on('close', () => {
      if (recorded) return;
      recorded = true;
      recordUnawaited(entry(res.statusCode, !res.writableFinished)); // its outcome is counted in trail.health()
    });

    if (context.failClosed && trail.health().status !== 'ok') {
      // The sink is known to be failing: do not run the handler's side effects at all, and see whether it is back.
      recorded = true;
      trail.probe();
      return refuse(res, originalEnd ?? (res.end.bind(res) as unknown as (...args: EndArgs) => ServerResponse));
    }
    runWithAuditContext(context, next);
  };
}

/** Marks the current request fail-closed (a route's own rule), refusing it at once while the trail is failing. */
export function failClosedNow(trail: AuditTrail, context: RequestAuditContext | undefined): KeywardError | undefined {
  if (context === undefined) return new KeywardError('CONFIG_INVALID', 'a fail-closed route needs the audit middleware in front of it');
  if (trail.health().status === 'ok') {
    context.failClosed = true;
    return undefined;
  }
  // Refused at once: the refusal itself must not wait for a sink known to be failing (it is recorded when it can be).
  trail.probe();
  return new KeywardError('AUDIT_UNAVAILABLE', 'the audit trail is failing');
}

function refuse(res: ServerResponse, end: (...args: EndArgs) => ServerResponse): void {
  const { status, headers, body } = httpAnswerFor(new KeywardError('AUDIT_UNAVAILABLE', 'the audit record could not be written'));
  for (const name of res.getHeaderNames()) if (name !== 'x-request-id') res.removeHeader(name);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  end(JSON.stringify(body));
}

function secretsRead(read: ReadonlyMap<string, string>): AuditSecretRead[] {
  const list: AuditSecretRead[] = [];
  for (const [name, version] of read) list.push({ name, version });
  return list;
}

function actorOf(req: FrameworkRequest, context: RequestAuditContext, resolve: AuditHttpOptions['principal']): AuditActor {
  if (req.apiKey !== undefined) return { type: 'api-key', id: req.apiKey.keyId, client: req.apiKey.client };
  return context.principal ?? resolve?.(req) ?? { type: 'anonymous' };
}

function routeOf(req: FrameworkRequest): string | null {
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : null;
}
