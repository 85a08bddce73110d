import { API_KEY_CHALLENGE, type AuditRecord } from '@keyward/core';
import { describeRequest, MARKER, requestBytes, requestHead, type FuzzRequest } from './fuzz-http.js';
import { headerOf, sendRaw, type AuditFileTail, type RawResponse } from './raw-http.js';

/**
 * What an app answers (with its `X-Request-ID`, so through the audit middleware): 200 (a valid
 * key, a public route, or the router's automatic OPTIONS), 400 (a path the router cannot decode,
 * a body the parser cannot read), 401 (no valid key), 403 (a valid key without the route's
 * scope), 404 (no such route), 413 and 415 (a body over the parser's limit, or in an encoding or
 * charset it does not know). Never a 5xx.
 */
export const APP_STATUSES: readonly number[] = [200, 400, 401, 403, 404, 413, 415];
/** What a body parser answers for a body it refuses, before any guard. */
const BODY_REFUSALS: readonly number[] = [400, 413, 415];
/**
 * What Node's HTTP server answers by itself, before any app code (no `X-Request-ID`, no audit
 * record): 400 for bytes its parser refuses or a missing Host, 431 for headers over 16 KiB.
 */
export const NODE_STATUSES: readonly number[] = [400, 431];
const NODE_HEADERS = new Set(['connection', 'date', 'transfer-encoding', 'content-length']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The app under test: where it listens, its audit file, everything it logged, the values that must never come out. */
export interface FuzzedApp {
  readonly port: number;
  readonly audit: AuditFileTail;
  readonly logs: () => string;
  readonly canaries: readonly string[];
}

/** What one exchange showed, for the tally a test prints and checks. */
export interface Outcome {
  readonly status: number;
  readonly byNode: boolean;
  readonly handled: boolean;
}

/**
 * Sends requests to one app and holds each exchange to the properties: never a 5xx; a valid key
 * always passes; nothing else ever reaches a guarded handler; the request id is echoed only when
 * it is a plain token; every answer the app gave has exactly its audit record; no canary and no
 * marked value in the response, the logs or the audit file.
 */
export class FuzzOracle {
  #logsSeen = 0;
  #auditSeen = 0;

  constructor(private readonly app: FuzzedApp) {}

  async exchange(req: FuzzRequest): Promise<Outcome> {
    const res = await sendRaw(this.app.port, requestBytes(req));
    const fail = (why: string): never => {
      throw new Error(`${why}\nrequest: ${describeRequest(req)}\nresponse: ${JSON.stringify(res.raw.slice(0, 600))}`);
    };
    const id = headerOf(res, 'x-request-id');
    // Taken first, so that a failed check leaves no record behind for the next request with this id.
    const record = id === undefined ? undefined : await this.app.audit.take(id);
    const byNode = id === undefined && [...res.headers.keys()].every((name) => NODE_HEADERS.has(name));
    if (res.status >= 500) fail(`answered ${res.status}`);

    // Node's limit (16 KiB) counts the request line and header lines, not exactly the bytes sent: a margin either side.
    const size = requestHead(req).length;
    const mayOverflow = size > 15_000;
    const overflows = size > 17_500;
    if (byNode) {
      if (!NODE_STATUSES.includes(res.status)) fail(`Node answered ${res.status}`);
      if (res.status === 431 && !mayOverflow) fail(`431 for ${size} bytes of headers`);
      if (res.status === 400 && !req.malformed) fail('Node refused with 400 a request thought well-formed');
      if (!req.malformed && overflows && res.status !== 431) fail(`${size} bytes of headers not answered 431`);
    } else {
      if (id === undefined) fail('the app answered without a request id (no audit middleware on this path?)');
      if (req.malformed) fail('bytes Node should refuse reached the app');
      if (overflows) fail(`${size} bytes of headers reached the app`);
      if (!APP_STATUSES.includes(res.status)) fail(`the app answered ${res.status}`);
      this.#checkAnswer(req, res, id!, fail);
      this.#checkRecord(req, res, record!, fail);
    }
    await this.app.audit.more();
    this.#checkLeaks(res, fail);
    return { status: res.status, byNode, handled: headerOf(res, 'x-handler') !== undefined };
  }

  #checkAnswer(req: FuzzRequest, res: RawResponse, id: string, fail: (why: string) => never): void {
    if (req.echoedId !== undefined ? id !== req.echoedId : !UUID.test(id)) fail(`request id ${JSON.stringify(id)} (expected ${req.echoedId ?? 'a new UUID'})`);
    const handler = headerOf(res, 'x-handler');
    const valid = req.credential.kind === 'valid';
    if (handler !== undefined && !valid) fail(`an invalid key reached the ${handler} handler`);
    if (handler === 'admin') fail('a key without the admin scope reached the admin handler');
    const plain = req.method === 'GET' || req.method === 'HEAD';
    if (!plain || (req.parsedBody && BODY_REFUSALS.includes(res.status))) return;
    if (req.route === 'health' && res.status !== 200) fail(`the public route answered ${res.status}`);
    if (req.route !== 'orders' && req.route !== 'admin') return;
    if (req.credential.kind === 'valid') {
      if (req.route === 'orders') {
        if (res.status !== 200 || handler !== 'orders') fail(`a valid key was refused (${res.status})`);
        if (req.credential.key.previous !== (headerOf(res, 'deprecation') !== undefined)) fail('Deprecation header does not match the key');
        if (req.method === 'GET' && (JSON.parse(res.body) as { client?: unknown }).client === undefined) fail('no principal in the body');
      } else if (res.status !== 403) fail(`a valid key without the scope got ${res.status}`);
      return;
    }
    if (res.status !== 401) fail(`an invalid key got ${res.status}, not 401`);
    if (!(headerOf(res, 'www-authenticate') ?? '').startsWith(API_KEY_CHALLENGE)) fail('401 without the ApiKey challenge');
    if (req.method === 'GET' && !/^\{"error":\{"code":"API_KEY_[A-Z]+","message":"[^"]+"\}\}$/.test(res.body)) fail('401 without the fixed body');
  }

  #checkRecord(req: FuzzRequest, res: RawResponse, record: AuditRecord, fail: (why: string) => never): void {
    const r = record.request!;
    if (r.status !== res.status || r.method !== req.method) fail(`audit record says ${r.method} ${r.status}: ${JSON.stringify(record)}`);
    const handler = headerOf(res, 'x-handler');
    if (handler !== undefined && req.credential.kind === 'valid') {
      const { keyId } = req.credential.key;
      if (record.actor.type !== 'api-key' || record.actor.id !== keyId || record.outcome !== 'success') fail(`audit record does not name the key: ${JSON.stringify(record)}`);
    }
    if (req.credential.kind === 'refused' && record.actor.type === 'api-key') fail(`audit record names a key for an invalid one: ${JSON.stringify(record)}`);
    if (res.status === 401 && (record.outcome !== 'denied' || !record.error?.code.startsWith('API_KEY_'))) fail(`401 recorded as ${JSON.stringify(record)}`);
  }

  #checkLeaks(res: RawResponse, fail: (why: string) => never): void {
    const logs = this.app.logs();
    const audit = this.app.audit.text;
    const texts = { response: res.raw, logs: logs.slice(this.#logsSeen), audit: audit.slice(this.#auditSeen) };
    this.#logsSeen = logs.length;
    this.#auditSeen = audit.length;
    for (const [where, text] of Object.entries(texts)) {
      for (const value of [MARKER, ...this.app.canaries]) {
        if (text.includes(value)) fail(`${where} holds ${value === MARKER ? 'a value the request presented' : 'a canary'}: …${text.slice(Math.max(0, text.indexOf(value) - 200), text.indexOf(value) + value.length + 50)}…`);
      }
    }
  }
}

/** Counts of what a run saw, so that a test can show (and check) that every kind of answer was exercised. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = `${o.byNode ? 'node' : 'app'} ${o.status}${o.handled ? ' handled' : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
