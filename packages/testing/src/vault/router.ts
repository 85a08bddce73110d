import type { IncomingHttpHeaders } from 'node:http';
import { handlerFor, matchRoute, resolveOperation, type Operation, type VaultRequest } from './backend.js';
import { Fields } from './fields.js';
import {
  errorReply,
  multiError,
  parseJsonBody,
  permissionDenied,
  policyDenied,
  sealedError,
  VaultHttpError,
  type VaultReply,
} from './http-envelope.js';
import { newUuid } from './ids.js';
import { needsSudo, systemBackend } from './sys-backend.js';
import { health, seal, sealStatus, unseal } from './sys-seal.js';
import type { VaultCore } from './vault-core.js';

export interface HttpCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Turns one HTTP call into Vault's answer: raw sys endpoints, then the logical router. */
export class VaultRouter {
  private readonly system;

  constructor(private readonly core: VaultCore) {
    this.system = systemBackend(core);
  }

  async handle(call: HttpCall): Promise<VaultReply> {
    try {
      return await this.dispatch(call);
    } catch (err) {
      if (err instanceof VaultHttpError) {
        const retry = (err as { retryAfter?: number }).retryAfter;
        const reply = errorReply(err);
        return retry ? { ...reply, headers: { 'Retry-After': String(retry) } } : reply;
      }
      return errorReply(new VaultHttpError(500, [multiError((err as Error).message)]));
    }
  }

  private async dispatch(call: HttpCall): Promise<VaultReply> {
    const url = new URL(call.url, 'http://vault.invalid');
    if (!url.pathname.startsWith('/v1/')) return { status: 404, body: { errors: [] } };
    let path = decodeURIComponent(url.pathname.slice('/v1/'.length));
    const method = call.method.toUpperCase();
    this.core.quotas.check(path);
    const token = tokenOf(call.headers);

    switch (path) {
      case 'sys/health':
        return method === 'GET' || method === 'HEAD' ? health(this.core, method, url.searchParams) : methodNotAllowed();
      case 'sys/seal-status':
        return method === 'GET' ? sealStatus(this.core) : methodNotAllowed();
      case 'sys/unseal':
        return method === 'PUT' || method === 'POST' ? unseal(this.core, call.body) : methodNotAllowed();
      case 'sys/seal':
        return method === 'PUT' || method === 'POST' ? seal(this.core, token) : methodNotAllowed();
      case 'sys/init':
        return method === 'GET' ? { status: 200, body: { initialized: true } } : methodNotAllowed();
    }
    if (this.core.seal.sealed) throw sealedError();

    let operation = operationOf(method, url.searchParams);
    if (operation === 'patch') checkPatchContentType(call.headers['content-type']);
    if (operation === 'list' && !path.endsWith('/')) path += '/';
    const data = operation === 'read' || operation === 'list' || operation === 'delete' ? queryData(url.searchParams) : parseJsonBody(call.body);

    const mount = path.startsWith('sys/') ? undefined : this.core.mounts.match(path);
    const backend = path.startsWith('sys/') ? this.system : mount?.backend;
    const subpath = path.startsWith('sys/') ? path.slice('sys/'.length) : mount ? path.slice(Math.min(mount.path.length, path.length)) : path;

    const found = backend ? safeMatch(backend, subpath) : undefined;
    const caller = this.core.tokens.lookup(token);
    if (!found?.route.unauthenticated && !caller) throw permissionDenied();
    if (!backend) throw new VaultHttpError(404, [`no handler for route ${JSON.stringify(path)}. route entry not found.`]);
    const { route, match } = matchRoute(backend, subpath);
    operation = resolveOperation(route, match, operation);
    if (!route.unauthenticated) {
      if (!route.aclExempt && !this.core.policies.allows(caller!.policies, path, operation, needsSudo(path))) throw policyDenied();
      this.core.tokens.use(caller!);
    }
    const handler = handlerFor(route, operation);
    const req: VaultRequest = {
      requestId: newUuid(),
      operation,
      path,
      query: url.searchParams,
      data,
      fields: new Fields(data),
      headers: call.headers,
      token: caller,
      namespace: headerValue(call.headers['x-vault-namespace']),
    };
    return handler(req, match);
  }
}

function safeMatch(backend: Parameters<typeof matchRoute>[0], subpath: string) {
  try {
    return matchRoute(backend, subpath);
  } catch {
    return undefined;
  }
}

const methodNotAllowed = (): VaultReply => ({ status: 405, body: { errors: [] } });

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Vault-Token`, or `Authorization: Bearer <token>`. */
function tokenOf(headers: IncomingHttpHeaders): string | undefined {
  const direct = headerValue(headers['x-vault-token']);
  if (direct) return direct;
  const auth = headerValue(headers.authorization);
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

function operationOf(method: string, query: URLSearchParams): Operation {
  switch (method) {
    case 'GET': {
      const list = query.get('list');
      return list !== null && /^(1|t|true)$/i.test(list) ? 'list' : 'read';
    }
    case 'LIST':
      return 'list';
    case 'POST':
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return 'patch';
    default:
      throw new VaultHttpError(405, []);
  }
}

function checkPatchContentType(header: string | undefined): void {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '') throw new VaultHttpError(400, ['mime: no media type']);
  if (type !== 'application/merge-patch+json') {
    throw new VaultHttpError(415, [`PATCH requires Content-Type of application/merge-patch+json, provided ${type}`]);
  }
}

function queryData(query: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of query) if (k !== 'list' && k !== 'help') out[k] = v;
  return out;
}
