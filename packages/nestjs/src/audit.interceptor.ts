import { currentAuditContext, failClosedNow, type AuditTrail } from '@keyward/core';
import { Inject, Injectable, type CallHandler, type CanActivate, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { ApplicationConfig, Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { KEYWARD_AUDIT_FAIL_CLOSED } from './audit-fail-closed.decorator.js';
import { KEYWARD_AUDIT_TRAIL } from './audit-tokens.js';
import { PerHandler } from './per-handler.js';

/** Nest's `PATH_METADATA` (`@nestjs/common/constants`). */
const PATH_METADATA = 'path';

/**
 * What the audit guard (and the interceptor) apply to each HTTP request: the route template Nest
 * matched (`/api/orders/:id`: global prefix, controller path, method path; never the concrete
 * path) for the request's record, and `@AuditFailClosed()`: a fail-closed route is refused at once
 * (503 `AUDIT_UNAVAILABLE`, the trail probed) while the trail is failing, else its response waits
 * for its record. Throws the refusal.
 */
class AuditRouteRules {
  /** Each route's template from Nest's metadata and its fail-closed marker, read once. */
  readonly #handlers = new PerHandler<HandlerFacts>((controller, handler) => {
    const prefix = this.config.getGlobalPrefix();
    const controllerPaths = pathsOf(Reflect.getMetadata(PATH_METADATA, controller));
    const methodPaths = pathsOf(Reflect.getMetadata(PATH_METADATA, handler));
    const built = controllerPaths.flatMap((c) => methodPaths.map((m) => joinPath(prefix, c, m)));
    return {
      built: built[0] ?? '/',
      failClosed: this.reflector.getAllAndOverride<boolean | undefined>(KEYWARD_AUDIT_FAIL_CLOSED, [handler, controller]),
    };
  });
  /** Adapters' matched paths, normalised (one per route). */
  readonly #registered = new Map<string, string>();

  constructor(
    private readonly trail: AuditTrail,
    private readonly reflector: Reflector,
    private readonly config: ApplicationConfig,
  ) {}

  apply(context: ExecutionContext): void {
    if (context.getType() !== 'http') return;
    const audit = currentAuditContext();
    const handler = this.#handlers.of(context);
    if (audit !== undefined) audit.route = this.routeOf(context, handler.built);
    const failClosed = handler.failClosed;
    if (failClosed === true) {
      const before = audit?.failClosed ?? false;
      const refusal = failClosedNow(this.trail, audit);
      if (refusal !== undefined) {
        // The handler does not run, so its 503 need not wait for a record the sink cannot take:
        // answer at once, and record it afterwards like any other response.
        if (audit !== undefined) audit.failClosed = before;
        throw refusal;
      }
    } else if (failClosed === false && audit !== undefined) {
      audit.failClosed = false;
    }
  }

  /**
   * The template from Nest's metadata. Nest may mount a route under more than it says (URI
   * versioning, `RouterModule` paths, prefix exclusions, several paths): when the adapter
   * tells which path it matched (Express's `req.route.path`, which Nest built from the same
   * metadata) and it is none of those built here, that one is the more exact.
   */
  private routeOf(context: ExecutionContext, built: string): string {
    const registered = context.switchToHttp().getRequest<{ route?: { path?: unknown } }>().route?.path;
    // Either it is one of those built here, or it is the more exact one.
    if (typeof registered !== 'string' || registered === '') return built;
    let route = this.#registered.get(registered);
    if (route === undefined) {
      route = joinPath(registered);
      if (this.#registered.size < MAX_REMEMBERED_PATHS) this.#registered.set(registered, route);
    }
    return route;
  }
}

/**
 * Registered globally by `KeywardModule.forRoot({ audit })`, after the module's API key guard:
 * gives the request's audit record the route template Nest matched, and applies
 * `@AuditFailClosed()` before later guards, the pipes and the handler, so that a fail-closed
 * handler never runs while the trail is failing. A guard, not an interceptor: a global
 * interceptor costs Nest about 15% of its throughput (its RxJS pipeline on every route).
 *
 * @example
 * // provided for you by KeywardModule.forRoot({ audit }); by hand:
 * providers: [{ provide: APP_GUARD, useClass: AuditGuard }]
 */
@Injectable()
export class AuditGuard implements CanActivate {
  readonly #rules: AuditRouteRules;

  constructor(@Inject(KEYWARD_AUDIT_TRAIL) trail: AuditTrail, @Inject(Reflector) reflector: Reflector, @Inject(ApplicationConfig) config: ApplicationConfig) {
    this.#rules = new AuditRouteRules(trail, reflector, config);
  }

  canActivate(context: ExecutionContext): boolean {
    this.#rules.apply(context);
    return true;
  }
}

/**
 * The same rules as `AuditGuard`, as an interceptor (what `forRoot({ audit })` registered before
 * `AuditGuard`): after every guard, before the pipes and the handler. Kept for apps that
 * registered it by hand; `AuditGuard` costs Nest far less.
 *
 * @example
 * providers: [{ provide: APP_INTERCEPTOR, useClass: AuditInterceptor }]
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  readonly #rules: AuditRouteRules;

  constructor(@Inject(KEYWARD_AUDIT_TRAIL) trail: AuditTrail, @Inject(Reflector) reflector: Reflector, @Inject(ApplicationConfig) config: ApplicationConfig) {
    this.#rules = new AuditRouteRules(trail, reflector, config);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.#rules.apply(context);
    return next.handle();
  }
}

interface HandlerFacts {
  readonly built: string;
  readonly failClosed: boolean | undefined;
}

/** Matched paths come from the app's own routes; the bound only guards against an adapter that puts a request's path there. */
const MAX_REMEMBERED_PATHS = 10_000;

function pathsOf(metadata: unknown): string[] {
  if (Array.isArray(metadata)) return metadata.length === 0 ? [''] : metadata.map(String);
  return typeof metadata === 'string' ? [metadata] : [''];
}

/** `/a/b/:c` from its parts: one slash between segments, a leading one, no trailing one. */
function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '')
    .join('/');
  return `/${joined}`;
}
