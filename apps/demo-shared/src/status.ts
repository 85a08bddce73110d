import { keywardHealthReport, type ApiKeyVerifier, type AuditHealth, type AuditTrail, type HealthStatus, type PoolStats, type SecretStore } from '@keyward/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.js';

/** What the status page looks at: public, value-free APIs only. */
export interface StatusSources {
  /** Shown as the page's title (`keyward demo (express)`). */
  readonly service: string;
  readonly store: Pick<SecretStore, 'health'>;
  readonly pools?: Readonly<Record<string, { stats(): PoolStats }>>;
  /** The API key verifier, for the clients still on a previous key. */
  readonly apiKeys?: Pick<ApiKeyVerifier, 'usage'>;
  readonly audit?: Pick<AuditTrail, 'health'>;
}

/** One declared secret: its name and metadata (never its value). */
export interface SecretStatus {
  readonly name: string;
  readonly status: HealthStatus | 'absent';
  readonly provider: string;
  readonly version?: string;
  readonly ageMs?: number;
  /** The refresh error's code while one fails. */
  readonly error?: string;
  readonly lease?: { readonly ttlMs: number; readonly expiresAt: string; readonly renewable: boolean };
}

/** One credential pool and its generations; `active` is the one new checkouts go to. */
export interface PoolStatus {
  readonly name: string;
  readonly status: HealthStatus;
  readonly active?: number;
  readonly waiting: number;
  readonly generations: ReadonlyArray<{ readonly id: number; readonly version: string; readonly state: string; readonly idle: number; readonly busy: number; readonly opening: number }>;
}

/** A client still calling with a previous API key, and when that key's grace ends. */
export interface PreviousKeyStatus {
  readonly client: string;
  readonly keyId: string;
  readonly uses: number;
  readonly lastUsedAt: string;
  /** The end of its grace. */
  readonly sunset: string;
}

/** The audit trail's delivery and the head of its hash chain (a prefix of the hash is enough to compare with `keyward audit verify`). */
export interface AuditStatus {
  readonly status: AuditHealth['status'];
  readonly pending: number;
  readonly written: number;
  readonly failed: number;
  readonly lastFailure?: string;
  readonly head: { readonly seq: number; readonly hashPrefix: string };
}

/** What `GET /status.json` answers and each server-sent event carries. */
export interface StatusSnapshot {
  readonly service: string;
  readonly environment: string;
  readonly status: HealthStatus;
  readonly checkedAt: string;
  readonly secrets: readonly SecretStatus[];
  readonly pools: readonly PoolStatus[];
  readonly previousKeys: readonly PreviousKeyStatus[];
  readonly audit?: AuditStatus;
}

const HASH_PREFIX = 12;

/**
 * The status page's data now. Every field is copied by name from the health report, the pools'
 * stats, the verifier's usage and the trail's health: a field added to those later (whatever it
 * holds) reaches the page only when it is added here.
 *
 * @example res.json(statusSnapshot({ service: 'billing', store, pools: { database: pool }, apiKeys: verifier, audit: trail }));
 */
export function statusSnapshot(sources: StatusSources): StatusSnapshot {
  const report = keywardHealthReport({ store: sources.store, ...(sources.pools === undefined ? {} : { pools: sources.pools }) });
  const { store } = report.checks;
  const secrets = Object.entries(store.secrets).map(([name, s]): SecretStatus => ({
    name,
    status: s.status,
    provider: s.provider,
    ...(s.version === undefined ? {} : { version: s.version }),
    ...(s.ageMs === undefined ? {} : { ageMs: s.ageMs }),
    ...(s.error === undefined ? {} : { error: s.error }),
    ...(s.lease === undefined ? {} : { lease: { ttlMs: s.lease.ttlMs, expiresAt: s.lease.expiresAt, renewable: s.lease.renewable } }),
  }));
  const pools = Object.entries(report.checks.pools ?? {}).map(([name, p]): PoolStatus => ({
    name,
    status: p.status,
    ...(p.active === undefined ? {} : { active: p.active }),
    waiting: p.waiting,
    generations: p.generations.map((g) => ({ id: g.id, version: g.version, state: g.state, idle: g.idle, busy: g.busy, opening: g.opening })),
  }));
  const previousKeys = (sources.apiKeys?.usage() ?? []).map((u): PreviousKeyStatus => ({
    client: u.client,
    keyId: u.keyId,
    uses: u.uses,
    lastUsedAt: u.lastUsedAt.toISOString(),
    sunset: u.sunset.toISOString(),
  }));
  const trail = sources.audit?.health();
  const audit: AuditStatus | undefined =
    trail === undefined
      ? undefined
      : {
          status: trail.status,
          pending: trail.pending,
          written: trail.written,
          failed: trail.failed,
          ...(trail.lastFailure === undefined ? {} : { lastFailure: trail.lastFailure.code }),
          head: { seq: trail.head.seq, hashPrefix: trail.head.hash.slice(0, HASH_PREFIX) },
        };
  // The page's status is the report's: the store and the pools (the audit part is shown on its own).
  return {
    service: sources.service,
    environment: store.environment.name,
    status: report.status,
    checkedAt: report.checkedAt,
    secrets,
    pools,
    previousKeys,
    ...(audit === undefined ? {} : { audit }),
  };
}

/** The status page's routes, on node's own request and response (Express's and Nest's are both). */
export interface DemoStatus {
  snapshot(): StatusSnapshot;
  /** `GET /status`: the page (inline CSS and script, no request leaves for another origin). */
  page(req: IncomingMessage, res: ServerResponse): void;
  /** `GET /status.json`: the snapshot. */
  json(req: IncomingMessage, res: ServerResponse): void;
  /** `GET /status/events`: server-sent events, a snapshot at once and then every `intervalMs`. */
  events(req: IncomingMessage, res: ServerResponse): void;
  /** Ends the open event streams and refuses new ones (503), so that a stopping server need not wait for them. */
  close(): void;
}

/**
 * The demos' live status page: each secret's metadata and lease, the database pool's
 * generations, the clients on a previous API key, the audit trail's head. The demos serve it
 * without an API key on 127.0.0.1; a real service puts it behind its operators' login.
 *
 * @example
 * const status = demoStatus({ service: 'billing', store, pools, apiKeys: verifier, audit: trail });
 * app.get('/status', status.page); app.get('/status.json', status.json); app.get('/status/events', status.events);
 */
export function demoStatus(sources: StatusSources, options: { intervalMs?: number } = {}): DemoStatus {
  const intervalMs = options.intervalMs ?? 1000;
  const streams = new Set<ServerResponse>();
  let closed = false;
  const snapshot = () => statusSnapshot(sources);
  return {
    snapshot,
    page(_req, res) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': STATUS_PAGE_CSP, 'x-content-type-options': 'nosniff' });
      res.end(STATUS_PAGE_HTML);
    },
    json(_req, res) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(snapshot()));
    },
    events(req, res) {
      if (closed) {
        // Not 200: EventSource stops reconnecting.
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        return void res.end('stopping\n');
      }
      // A connection of its own (`connection: close`): when the stream ends, so does the socket,
      // and a server that is closing does not wait on an idle keep-alive connection.
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' });
      const send = () => void res.write(`data: ${JSON.stringify(snapshot())}\n\n`);
      res.write('retry: 2000\n\n');
      send();
      const timer = setInterval(send, intervalMs);
      streams.add(res);
      const stop = () => {
        clearInterval(timer);
        streams.delete(res);
      };
      req.on('close', stop);
      res.on('close', stop);
      res.on('error', stop);
    },
    close() {
      closed = true;
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

const OPERATOR_PATHS = new Set(['/status', '/status.json', '/status/events', '/metrics']);

/**
 * Whether a request is for the status page or the metrics: the audit trail leaves these out (a
 * scrape every few seconds and a page open all day would bury the requests worth auditing).
 *
 * @example app.use(auditRequests(trail, { skip: isOperatorRequest }));
 */
export function isOperatorRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return OPERATOR_PATHS.has(query === -1 ? url : url.slice(0, query));
}
