import winston from 'winston';
import type TransportStream from 'winston-transport';
import { KeywardError } from '../errors/index.js';
import { MAX_TIMER_MS, parseDuration, type Duration } from '../util/index.js';
import { AuditFileTransport, FAILED_RECORDS } from './audit-file.transport.js';
import { auditHash, deriveAuditKeys, type AuditKey, type AuditKeys } from './audit-keys.js';
import { AUDIT_GENESIS, sealAuditLine, type AuditActor, type AuditEntry, type AuditHttp, type AuditRecord } from './audit-record.js';
import { readAuditTail, TRAIL_RESUMED, type ResumePoint } from './trail-resumed.js';

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');
/** Marks each record's info object; transports with a format of their own log a copy (Object.assign keeps symbols). */
const AUDIT_SEQ = Symbol('keyward.audit.seq');

/**
 * What `createAuditTrail()` needs: the audit key, the service's name, where records go, which fields are HMAC'd.
 *
 * @example
 * createAuditTrail({ key: store.get('auditKey').reveal(), service: 'billing', file: 'logs/audit.jsonl', writeTimeout: '2s' });
 */
export interface AuditTrailOptions {
  /** The audit key (32+ random bytes; a declared secret). The chain and field keys are derived from it. */
  key: AuditKey;
  /** This service, the actor of records made outside requests (bootstrap, refresh, rotation). */
  service: string;
  /** Where the default transport writes JSON lines (default `logs/audit.jsonl`). Ignored when `transports` is given. */
  file?: string;
  /**
   * Winston transports of the trail's own logger (never the application's), at most 31. The chain
   * resumes from the file only with the default transport; with others it starts at `resume` or anew.
   */
  transports?: TransportStream[];
  /** Where the chain stands when not resumed from the default file. */
  resume?: { seq: number; hash: string };
  /** A record not acknowledged by every transport within this time is a failure (default `'2s'`). */
  writeTimeout?: Duration;
  /**
   * Records waiting for acknowledgement (within their `writeTimeout`) beyond which new ones are
   * refused at once, and lost (default 100 000). A stalled sink holds about requests/s x writeTimeout.
   */
  maxPending?: number;
  /**
   * Fields HMAC'd as `hmac-sha256:<hex>` under the field key (default: `request.ip`,
   * `request.userAgent`, and `actor.id` for `user` actors).
   */
  sensitive?: readonly SensitiveField[];
  now?: () => number;
}

/**
 * Record fields that may identify a person: written as `hmac-sha256:` hashes when listed in `sensitive`.
 */
export type SensitiveField = 'request.ip' | 'request.userAgent' | 'actor.user';

/** The trail's delivery state, for health endpoints. */
export interface AuditHealth {
  /**
   * `failing` after a record could not be written (until one is); `closed` after `close()`.
   * It follows the newest evidence in the order records were sent: the outcome of a record sent
   * before the one that last decided it changes nothing (an old record timing out after a later
   * one was acknowledged still counts in `failed` and `lastFailure`, but the sink works now; an
   * old record's late acknowledgement does not clear a failure of a later one).
   */
  readonly status: 'ok' | 'failing' | 'closed';
  readonly written: number;
  /** Records lost: `failures` says why, by reason. */
  readonly failed: number;
  readonly pending: number;
  /** Lost records by reason (only reasons seen): not acknowledged in time, the sink's error, the backlog full, the close timed out. */
  readonly failures: Readonly<Partial<Record<AuditFailureCode, number>>>;
  readonly lastFailure?: { readonly code: AuditFailureCode; readonly at: string };
  /** The newest record sealed into the chain (seq 0 and the genesis hash before the first): compare with the file's last line, or keep it elsewhere. */
  readonly head: { readonly seq: number; readonly hash: string };
}

/** Why an audit record was lost (`AuditHealth.failures`). */
export type AuditFailureCode = 'AUDIT_TIMEOUT' | 'AUDIT_SINK_ERROR' | 'AUDIT_BACKLOG' | 'AUDIT_CLOSE_TIMEOUT';

/**
 * A running audit trail: seals records into a hash chain, writes them, reports its health.
 *
 * @example
 * await trail.record({ event: 'payout.approved', actor: { type: 'user', id: userId }, outcome: 'success' });
 */
export interface AuditTrail {
  /** The actor of records this service makes by itself. */
  readonly service: AuditActor;
  /**
   * Seals and writes one record; resolves once every transport acknowledged it, rejects with
   * `AUDIT_UNAVAILABLE` when one failed or did not answer within `writeTimeout`, or `AUDIT_CLOSED`.
   * The record keeps its place in the chain either way.
   */
  record(entry: AuditEntry): Promise<AuditRecord>;
  health(): AuditHealth;
  /**
   * While failing: writes one `audit.probe` record (one at a time), whose acknowledgement makes
   * the trail `ok` again. Fail-closed routes call it instead of running their handler.
   */
  probe(): void;
  /** `hmac-sha256:<hex>` of a value under the field key, to search the trail. */
  hash(value: string): string;
  /** Refuses new records, waits for the pending ones (up to `writeTimeout`), ends the transports (fsync). Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_SENSITIVE: readonly SensitiveField[] = ['request.ip', 'request.userAgent', 'actor.user'];

/**
 * Where `auditHttp` finds the trail's way of writing a record nobody awaits (no promise, no
 * sealed copy made); a trail without it (your own implementation) is called through `record()`.
 */
export const RECORD_UNAWAITED = Symbol('keyward.audit.recordUnawaited');

/**
 * Records within their writeTimeout beyond which new ones are refused (and lost). A stalled sink
 * holds rps x writeTimeout of them: 10,000 lost records of an Express app at 4,500 audited
 * requests/s during a 2 s stall (the audit-sink-stall chaos scenario); 100,000 covers 50,000/s.
 */
const DEFAULT_MAX_PENDING = 100_000;

/** Transports per trail: each waiting record keeps one bit per transport still to acknowledge it. */
const MAX_TRANSPORTS = 31;
/** Sensitive values remembered with their HMAC (clients' IPs and user agents repeat): a bounded map, oldest out first. */
const FIELD_HASH_MEMO = 1024;

interface Pending {
  readonly seq: number;
  /** Bit i set: transport i has not acknowledged the record yet. */
  waiting: number;
  /** `performance.now()` by which the record must be acknowledged. */
  readonly deadline: number;
  /** The sealed record, for `record()`'s promise; absent for a record nobody awaits. */
  readonly sealed: AuditRecord | undefined;
  readonly resolve: ((record: AuditRecord) => void) | undefined;
  readonly reject: ((err: KeywardError) => void) | undefined;
}

/**
 * An audit trail on its own winston logger: each record is a JSON line sealed into a hash chain
 * (`prev`, `hash`: HMAC-SHA256 under a key derived from the audit key), with sensitive fields
 * HMAC'd. Writes are acknowledged per transport, bounded by `writeTimeout`, and counted; a
 * failing sink shows in `health()` instead of freezing the caller. On the default file it
 * continues the chain from the last line only when that line's seal holds; otherwise it starts a
 * new segment after the last record whose seal holds, with a `trail.resumed` record (a reason
 * code and that head) and a `KEYWARD_AUDIT_RESUMED` process warning.
 *
 * @example
 * const trail = await createAuditTrail({ key: store.get('auditKey').reveal(), service: 'billing', file: 'logs/audit.jsonl' });
 * await trail.record({ event: 'secret.rotated', actor: trail.service, outcome: 'success', details: { secret: 'database', to: 'v2' } });
 * await trail.close();
 */
export async function createAuditTrail(options: AuditTrailOptions): Promise<AuditTrail> {
  const keys: AuditKeys = deriveAuditKeys(options.key);
  const now = options.now ?? Date.now;
  const timeoutMs = parseDuration(options.writeTimeout ?? '2s', 'writeTimeout');
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  const sensitive = new Set(options.sensitive ?? DEFAULT_SENSITIVE);
  const file = options.file ?? 'logs/audit.jsonl';
  const transports = options.transports ?? [new AuditFileTransport({ filename: file })];
  if (transports.length > MAX_TRANSPORTS) throw new KeywardError('CONFIG_INVALID', `an audit trail takes at most ${MAX_TRANSPORTS} transports`);
  const tail: ResumePoint = options.resume ?? (options.transports === undefined ? await readAuditTail(file, keys.chain) : { seq: 0, hash: AUDIT_GENESIS });
  if (!Number.isInteger(tail.seq) || tail.seq < 0 || !/^[0-9a-f]{64}$/.test(tail.hash)) {
    throw new KeywardError('CONFIG_INVALID', 'audit trail `resume` needs a non-negative integer seq and a 64-hex hash');
  }

  // A pass-through format: winston's default (json) would replace the sealed line in info[MESSAGE].
  const sealedLine = winston.format((info) => info)();
  const logger = winston.createLogger({ levels: { audit: 0 }, level: 'audit', format: sealedLine, transports, exitOnError: false });
  let seq = tail.seq;
  let prev = tail.hash;
  let closed: Promise<void> | undefined;
  /**
   * By seq: an acknowledgement finds its record in constant time, however long the backlog. In
   * send order too, and every record has the same writeTimeout, so the first one is the next to
   * time out: one timer, armed for it, serves them all.
   */
  const pending = new Map<number, Pending>();
  const allTransports = 2 ** transports.length - 1;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const counts = { written: 0, failed: 0 };
  const failures: Partial<Record<AuditFailureCode, number>> = {};
  let lastFailure: { code: AuditFailureCode; at: string } | undefined;
  // Outcomes arrive out of send order (a record sent while the sink hung times out after a later
  // one was acknowledged): the state is decided by the latest-sent record whose outcome is known.
  const delivery = { failing: false, decidedBy: 0 };
  const observe = (sentAt: number, failed: boolean) => {
    if (sentAt < delivery.decidedBy) return;
    delivery.failing = failed;
    delivery.decidedBy = sentAt;
  };

  /** Counts a lost record; `sentAt` is its seq (for a refusal, the newest record sent before it). */
  const fail = (code: AuditFailureCode, sentAt: number) => {
    counts.failed += 1;
    failures[code] = (failures[code] ?? 0) + 1;
    lastFailure = { code, at: new Date(now()).toISOString() };
    observe(sentAt, true);
  };
  const idle: (() => void)[] = [];
  const settle = (entry: Pending, error?: KeywardError) => {
    if (!pending.delete(entry.seq)) return;
    if (pending.size === 0) {
      clearTimeout(deadlineTimer);
      deadlineTimer = undefined;
      for (const resolve of idle.splice(0)) resolve();
    }
    if (error === undefined) {
      counts.written += 1;
      observe(entry.seq, false);
      entry.resolve?.(entry.sealed!);
    } else {
      entry.reject?.(error);
    }
  };
  /** Fails the records whose time is up (the oldest first), then waits for the next one's. */
  const expire = () => {
    deadlineTimer = undefined;
    const at = performance.now();
    for (const entry of pending.values()) {
      if (entry.deadline > at) break;
      fail('AUDIT_TIMEOUT', entry.seq);
      settle(entry, new KeywardError('AUDIT_UNAVAILABLE', `an audit record was not acknowledged within ${timeoutMs} ms`));
    }
    armDeadline();
  };
  const armDeadline = () => {
    if (deadlineTimer !== undefined || pending.size === 0) return;
    const oldest = pending.values().next().value as Pending;
    deadlineTimer = setTimeout(expire, Math.max(0, Math.ceil(oldest.deadline - performance.now())));
    deadlineTimer.unref?.();
  };
  transports.forEach((transport, index) => {
    const bit = 1 << index;
    transport.on('logged', (info: unknown) => {
      const entry = pending.get((info as Record<symbol, unknown> | undefined)?.[AUDIT_SEQ] as number);
      if (entry === undefined) return; // settled already (timed out), or not ours
      entry.waiting &= ~bit;
      if (entry.waiting === 0) settle(entry);
    });
    // A transport that fails fails the records it names (the file transport does), else every
    // record waiting on it: they cannot be confirmed any more.
    transport.on('error', (err: unknown) => {
      const named = (err as { [FAILED_RECORDS]?: unknown } | undefined)?.[FAILED_RECORDS];
      const only = Array.isArray(named) ? new Set(named.map((info) => (info as Record<symbol, unknown> | undefined)?.[AUDIT_SEQ])) : undefined;
      for (const entry of [...pending.values()]) {
        if ((entry.waiting & bit) === 0 || (only !== undefined && !only.has(entry.seq))) continue;
        fail('AUDIT_SINK_ERROR', entry.seq);
        settle(entry, new KeywardError('AUDIT_UNAVAILABLE', 'an audit transport failed to write a record'));
      }
    });
  });
  logger.on('error', () => {}); // transports' errors are handled above

  const hmac = (value: string) => auditHash(value, keys);
  const memo = new Map<string, string>();
  /** A sensitive field's HMAC, remembered: the same clients come back with the same IP and user agent. */
  const fieldHash = (value: string): string => {
    let hashed = memo.get(value);
    if (hashed === undefined) {
      hashed = hmac(value);
      if (memo.size >= FIELD_HASH_MEMO) memo.delete(memo.keys().next().value as string);
      memo.set(value, hashed);
    }
    return hashed;
  };
  const hashIp = sensitive.has('request.ip');
  const hashUserAgent = sensitive.has('request.userAgent');
  const hashUser = sensitive.has('actor.user');
  /** The request's own fields only (a caller's object cannot bring others), sensitive ones HMAC'd. */
  const requestOf = (request: AuditHttp): AuditHttp => {
    const { id, method, route, status, durationMs, ip, userAgent } = request;
    const out: { -readonly [K in keyof AuditHttp]: AuditHttp[K] } = { id, method, route, status, durationMs };
    if (ip !== undefined) out.ip = hashIp ? fieldHash(ip) : ip;
    if (userAgent !== undefined) out.userAgent = hashUserAgent ? fieldHash(userAgent) : userAgent;
    return out;
  };
  let lastMs = Number.NaN;
  let lastTime = '';
  /** The record's time; one Date per millisecond however many records it holds. */
  const timeNow = (): string => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastTime = new Date(ms).toISOString();
    }
    return lastTime;
  };

  /**
   * Seals the entry into the chain and hands it to the logger. The body holds the entry's own
   * fields only (a caller's object cannot bring v, seq, time, prev or hash).
   */
  function send(entry: AuditEntry, resolve?: (record: AuditRecord) => void, reject?: (err: KeywardError) => void): void {
    const { event, actor, outcome, request, secrets, error, details } = entry;
    const body: { -readonly [K in keyof AuditRecord]: AuditRecord[K] } = {
      v: 1,
      seq: seq + 1,
      time: timeNow(),
      event,
      actor: actor.type === 'user' && hashUser ? { type: 'user', id: fieldHash(actor.id) } : actor,
      outcome,
    } as AuditRecord;
    if (request !== undefined) body.request = requestOf(request);
    if (secrets !== undefined) body.secrets = secrets;
    if (error !== undefined) body.error = error;
    if (details !== undefined) body.details = details;
    body.prev = prev;
    const { line, hash } = sealAuditLine(body, keys.chain);
    seq = body.seq;
    prev = hash;
    let sealed: AuditRecord | undefined;
    if (resolve !== undefined) {
      body.hash = hash;
      sealed = body;
    }
    pending.set(seq, { seq, waiting: allTransports, deadline: performance.now() + Math.min(timeoutMs, MAX_TIMER_MS), sealed, resolve, reject });
    armDeadline();
    logger.log({ level: 'audit', message: event, [LEVEL]: 'audit', [MESSAGE]: line, [AUDIT_SEQ]: seq } as unknown as winston.LogEntry);
  }

  /** Why a record cannot be taken now (closed, backlog full), counted; `undefined` when it can. */
  const refusal = (): KeywardError | undefined => {
    if (closed !== undefined) return new KeywardError('AUDIT_CLOSED', 'the audit trail is closed');
    if (pending.size < maxPending) return undefined;
    fail('AUDIT_BACKLOG', seq);
    return new KeywardError('AUDIT_UNAVAILABLE', `the audit trail has ${pending.size} records waiting for their sink`);
  };

  function record(entry: AuditEntry): Promise<AuditRecord> {
    const refused = refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<AuditRecord>((resolve, reject) => send(entry, resolve, reject));
  }

  /** `record()` for a caller that does not wait: the outcome shows in health() only. */
  function recordUnawaited(entry: AuditEntry): void {
    if (refusal() === undefined) send(entry);
  }

  async function close(): Promise<void> {
    closed ??= (async () => {
      // Each pending record settles within writeTimeout, acknowledged or not.
      if (pending.size > 0) await new Promise<void>((resolve) => idle.push(resolve));
      // A sink that never finishes must not hold up the shutdown: wait writeTimeout at most, and count it.
      await new Promise<void>((resolve) => {
        let open = transports.length;
        if (open === 0) return resolve();
        const timer = setTimeout(() => {
          fail('AUDIT_CLOSE_TIMEOUT', seq);
          resolve();
        }, Math.min(timeoutMs, MAX_TIMER_MS));
        timer.unref?.();
        const finished = () => {
          open -= 1;
          if (open > 0) return;
          clearTimeout(timer);
          resolve();
        };
        for (const transport of transports) {
          transport.once('finish', finished);
          transport.once('error', finished);
        }
        logger.end();
      });
    })();
    return closed;
  }

  const service: AuditActor = { type: 'service', id: options.service };
  let probing = false;
  function probe(): void {
    if (!delivery.failing || probing || closed !== undefined) return;
    probing = true;
    record({ event: 'audit.probe', actor: service, outcome: 'success', details: { failedSoFar: counts.failed } })
      .catch(() => {})
      .finally(() => (probing = false));
  }

  if (tail.problem !== undefined) {
    // The file's last line was not adopted: a new segment starts after the last record whose seal
    // holds, and says so in the chain itself (a reason code and a head, never the line's content).
    const after = tail.seq === 0 ? 'no readable record' : `record ${tail.seq}`;
    process.emitWarning(`the audit file's last line could not be continued (${tail.problem}); a trail.resumed record starts a new segment after ${after}`, { code: 'KEYWARD_AUDIT_RESUMED' });
    record({ event: TRAIL_RESUMED, actor: service, outcome: 'failure', details: { reason: tail.problem, previousHead: tail.seq === 0 ? null : `${tail.seq}:${tail.hash}` } }).catch(() => {});
  }

  const trail: AuditTrail & { [RECORD_UNAWAITED]: (entry: AuditEntry) => void } = {
    service,
    probe,
    record,
    [RECORD_UNAWAITED]: recordUnawaited,
    health: () => ({
      status: closed !== undefined ? 'closed' : delivery.failing ? 'failing' : 'ok',
      written: counts.written,
      failed: counts.failed,
      pending: pending.size,
      failures: { ...failures },
      ...(lastFailure === undefined ? {} : { lastFailure }),
      head: { seq, hash: prev },
    }),
    hash: hmac,
    close,
  };
  return trail;
}
