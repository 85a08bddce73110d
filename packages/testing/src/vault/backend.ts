import type { IncomingHttpHeaders } from 'node:http';
import { Fields } from './fields.js';
import { unsupportedOperation, unsupportedPath, type VaultReply } from './http-envelope.js';
import type { TokenEntry } from './token-store.js';

/** Vault's logical operations; the ACL capability of each has the same name. */
export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch';

/** One API call after HTTP parsing and authentication. */
export interface VaultRequest {
  readonly requestId: string;
  readonly operation: Operation;
  /** The path after `/v1/`, without query; list requests end with `/`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The JSON body (writes) or the query parameters (reads and lists). */
  readonly data: Readonly<Record<string, unknown>>;
  readonly fields: Fields;
  readonly headers: IncomingHttpHeaders;
  /** The caller's token; undefined on unauthenticated (login) paths. */
  readonly token: TokenEntry | undefined;
  /** `X-Vault-Namespace`, recorded; the dev server has only the root namespace and answers the same. */
  readonly namespace: string | undefined;
}

export type Handler = (req: VaultRequest, match: RegExpMatchArray) => Promise<VaultReply> | VaultReply;

/** One framework.Path: a pattern over the mount-relative path and its operations. */
export interface Route {
  readonly pattern: RegExp;
  /** Login paths need no token. */
  readonly unauthenticated?: boolean;
  /** Needs a valid token but no ACL grant (the handler does its own check, as sys/internal/ui does). */
  readonly aclExempt?: boolean;
  /** Decides create (absent) versus update (present) for POST/PUT, as Vault's ExistenceCheck does. */
  readonly exists?: (match: RegExpMatchArray) => boolean;
  readonly read?: Handler;
  readonly list?: Handler;
  readonly create?: Handler;
  readonly update?: Handler;
  readonly delete?: Handler;
  readonly patch?: Handler;
}

/** A mounted secrets engine or auth method. */
export interface Backend {
  /** `mount_type` in answers: kv, database, token, approle, kubernetes, system. */
  readonly type: string;
  readonly routes: readonly Route[];
  /** Called when the mount is removed or the server closes. */
  close?(): Promise<void>;
}

export interface RouteMatch {
  readonly route: Route;
  readonly match: RegExpMatchArray;
}

/** Finds the route for a mount-relative path (404 "unsupported path" when none). */
export function matchRoute(backend: Backend, subpath: string): RouteMatch {
  for (const route of backend.routes) {
    const match = subpath.match(route.pattern);
    if (match) return { route, match };
  }
  throw unsupportedPath();
}

/** POST/PUT become create or update through the route's existence check. */
export function resolveOperation(route: Route, match: RegExpMatchArray, op: Operation): Operation {
  if (op !== 'update') return op;
  if (route.exists) return route.exists(match) ? 'update' : 'create';
  return 'update';
}

export function handlerFor(route: Route, op: Operation): Handler {
  const handler = op === 'create' ? (route.create ?? route.update) : route[op];
  if (!handler) throw unsupportedOperation();
  return handler;
}

/** A path segment name as Vault's framework.GenericNameRegex accepts it. */
export const NAME = '(\\w(?:[\\w.@-]*\\w)?)';
