import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditActor } from './audit-record.js';

/** What the trail gathers while one request is served. */
export interface RequestAuditContext {
  readonly id: string;
  /** Secrets read while serving it, `name` -> `version`, in order of first read. */
  readonly secrets: Map<string, string>;
  principal?: AuditActor;
  /** The Keyward error code the request ended with, noted by the framework error handlers. */
  errorCode?: string;
  /** Set by the framework from its routing metadata (Nest) when it knows better than the request. */
  route?: string;
  /** The response waits for its record, and is a 503 when it cannot be written. */
  failClosed: boolean;
}

const storage = new AsyncLocalStorage<RequestAuditContext>();

/**
 * The audit context of the request being served, if any (inside `auditHttp`'s middleware).
 *
 * @example currentAuditContext()?.secrets.size
 */
export function currentAuditContext(): RequestAuditContext | undefined {
  return storage.getStore();
}

/** Runs `fn` (the rest of the request's handling) with `context` as the current audit context. */
export function runWithAuditContext<T>(context: RequestAuditContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Notes the error code the current request ends with (the framework error handlers call this),
 * so that its record says why, by code only.
 *
 * @example noteAuditError(err.code)
 */
export function noteAuditError(code: string): void {
  const context = storage.getStore();
  if (context !== undefined) context.errorCode = code;
}

/**
 * Notes who the current request acts for (an API key guard, your authentication).
 *
 * @example noteAuditPrincipal({ type: 'user', id: session.userId })
 */
export function noteAuditPrincipal(actor: AuditActor): void {
  const context = storage.getStore();
  if (context !== undefined) context.principal = actor;
}
