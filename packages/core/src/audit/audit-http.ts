import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpAnswerFor } from '../errors/http-answer.js';
import { KeywardError } from '../errors/keyward-error.js';
import { runWithAuditContext, type RequestAuditContext } from './audit-context.js';
import type { AuditActor, AuditEntry, AuditHttp, AuditSecretRead } from './audit-record.js';
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
  const setup: AuditSetup = {
    trail,
    principal: options.principal,
    recordUnawaited: unawaited !== undefined ? unawaited : (entry: AuditEntry) => void trail.record(entry).catch(() => {}),
  };

  return function keywardAudit(req: IncomingMessage, res: ServerResponse, next: Next): void {
    if (options.skip?.(req) === true) return next();
    const presented = req.headers[idHeader];
    const id = typeof presented === 'string' && REQUEST_ID.test(presented) ? presented : randomUUID();
    res.setHeader(idHeader, id);
    const audited = new AuditedRequest(setup, req as FrameworkRequest, res, id);
    // 'close' follows 'finish' (Node emits it once the response is done), or comes alone when the
    // client went away first: one listener serves both.
    res.on('close', () => audited.closed());
    if (options.failClosed === true) {
      audited.failClosed = true;
      if (trail.health().status !== 'ok') {
        // The sink is known to be failing: do not run the handler's side effects at all, and see whether it is back.
        audited.recorded = true;
        trail.probe();
        return refuse(res, audited.originalEnd!);
      }
    }
    runWithAuditContext(audited, next);
  };
}

/** What every request of one `auditHttp()` shares. */
interface AuditSetup {
  readonly trail: AuditTrail;
  readonly principal: AuditHttpOptions['principal'];
  readonly recordUnawaited: (entry: AuditEntry) => void;
}

/**
 * One audited request: its audit context (what the handlers note) and how its record is made.
 * One object per request, its methods on the prototype: the middleware allocates little.
 */
class AuditedRequest implements RequestAuditContext {
  readonly secrets = new Map<string, string>();
  principal?: AuditActor;
  errorCode?: string;
  route?: string;
  recorded = false;
  /** res.end as it was, once held for a fail-closed record. */
  originalEnd: ((...args: EndArgs) => ServerResponse) | undefined;
  readonly #started = performance.now();
  #failClosed = false;

  readonly #setup: AuditSetup;
  readonly #req: FrameworkRequest;
  readonly #res: ServerResponse;

  constructor(setup: AuditSetup, req: FrameworkRequest, res: ServerResponse, readonly id: string) {
    this.#setup = setup;
    this.#req = req;
    this.#res = res;
  }

  get failClosed(): boolean {
    return this.#failClosed;
  }

  /**
   * Fail-closed from now on (the option, a route's marker, the Nest interceptor): res.end is held
   * until the record is written. Wrapped only then: a wrapped end on every response cost about 4%
   * of the throughput.
   */
  set failClosed(on: boolean) {
    this.#failClosed = on;
    if (on && this.originalEnd === undefined) this.#holdEnd();
  }

  /** The response is done (or the client left): its record, unless the fail-closed path wrote it. */
  closed(): void {
    if (this.recorded) return;
    this.recorded = true;
    this.#setup.recordUnawaited(this.entry(this.#res.statusCode, !this.#res.writableFinished)); // its outcome is counted in trail.health()
  }

  #holdEnd(): void {
    const res = this.#res;
    const end = (this.originalEnd = res.end.bind(res) as unknown as (...args: EndArgs) => ServerResponse);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const audited = this;
    res.end = function auditedEnd(this: ServerResponse, ...args: EndArgs): ServerResponse {
      if (!audited.#failClosed || audited.recorded) return end(...args);
      audited.recorded = true;
      audited.#setup.trail.record(audited.entry(res.statusCode, false)).then(
        () => end(...args),
        () => {
          if (res.headersSent) return end(...args); // streamed: too late to answer otherwise; the trail counted it
          refuse(res, end);
        },
      );
      return res;
    } as unknown as ServerResponse['end'];
  }

  entry(status: number, aborted: boolean): AuditEntry {
    const req = this.#req;
    const userAgent = req.headers['user-agent'];
    const ip = req.ip ?? req.socket.remoteAddress;
    const errorCode = aborted ? 'REQUEST_ABORTED' : this.errorCode;
    const request: { -readonly [K in keyof AuditHttp]: AuditHttp[K] } = {
      id: this.id,
      method: req.method ?? 'GET',
      route: this.route ?? routeOf(req),
      status,
      durationMs: Math.round((performance.now() - this.#started) * 100) / 100,
    };
    if (ip !== undefined) request.ip = ip;
    if (typeof userAgent === 'string') request.userAgent = userAgent.slice(0, 512);
    const entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = {
      event: 'http.request',
      actor: actorOf(req, this, this.#setup.principal),
      outcome: aborted || status >= 500 || (status >= 400 && status !== 401 && status !== 403) ? 'failure' : status === 401 || status === 403 ? 'denied' : 'success',
      request,
      secrets: secretsRead(this.secrets),
    };
    if (errorCode !== undefined) entry.error = { code: errorCode };
    return entry;
  }
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
