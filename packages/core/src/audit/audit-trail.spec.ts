import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardError } from '../errors/index.js';
import { canary, entry, expectNoCanary, readLines, ScriptedTransport, writeTrail } from '@keyward/test-support';
import { auditHash } from './audit-keys.js';
import { AUDIT_GENESIS, type AuditRecord } from './audit-record.js';
import { createAuditTrail, type AuditTrail, type AuditTrailOptions } from './audit-trail.js';
import { auditFileError } from './trail-resumed.js';
import { verifyAuditFile } from './verify-audit.js';

const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;

let dir: string;
let key: string;
const open: AuditTrail[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-audit-'));
  key = canary('audit-key');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await rm(dir, { recursive: true, force: true });
});

async function trail(options: Partial<AuditTrailOptions> = {}): Promise<AuditTrail> {
  const created = await createAuditTrail({ key, service: 'billing', file: join(dir, 'audit.jsonl'), ...options });
  open.push(created);
  return created;
}

/** The rejection of `promise` (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KeywardError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('createAuditTrail: the file and its chain', () => {
  it('records chain: seq counts from 1, each prev is the hash before, each line is the record, and the file verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    const records: AuditRecord[] = [];
    for (let n = 1; n <= 5; n += 1) records.push(await t.record(entry(n)));
    await t.close();

    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]!.prev).toBe(AUDIT_GENESIS);
    for (let i = 1; i < records.length; i += 1) expect(records[i]!.prev).toBe(records[i - 1]!.hash);
    for (const r of records) expect(r).toMatchObject({ v: 1, event: 'secret.read', outcome: 'success', actor: { type: 'service', id: 'billing' }, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const lines = await readLines(file);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(records);
    for (const line of lines) expect(line).toMatch(/,"hash":"[0-9a-f]{64}"\}$/);
    expect(await verifyAuditFile(file, key)).toEqual({ ok: true, records: 5, head: { seq: 5, hash: records[4]!.hash }, breaks: [] });
    expect(t.health()).toMatchObject({ status: 'closed', written: 5, failed: 0, pending: 0 });
  });

  it('creates the folder and writes the file with mode 0600', async () => {
    const file = join(dir, 'logs', 'nested', 'audit.jsonl');
    const t = await trail({ file });
    await t.record(entry(1));
    await t.close();
    const [fileStat, folderStat] = await Promise.all([stat(file), stat(join(dir, 'logs', 'nested'))]);
    expect(fileStat.mode & 0o777).toBe(0o600);
    expect(folderStat.isDirectory()).toBe(true);
    expect(folderStat.mode & 0o077).toBe(0); // 0700 (less under a strict umask), never readable by others
  });

  it('a second trail on the same file resumes the chain: seq continues and the whole file verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const first = await writeTrail(file, key, 3);
    const t = await trail({ file });
    const next = [await t.record(entry(4)), await t.record(entry(5))];
    await t.close();

    expect(next.map((r) => r.seq)).toEqual([4, 5]);
    expect(next[0]!.prev).toBe(first[2]!.hash);
    expect(await readLines(file)).toHaveLength(5);
    expect(await verifyAuditFile(file, key)).toEqual({ ok: true, records: 5, head: { seq: 5, hash: next[1]!.hash }, breaks: [] });
  });

  describe('resuming on a bad end of file: the tail is adopted only when its seal holds', () => {
    /** What a restarted trail wrote and warned, after `damage` changed the file a first run left (3 records). */
    async function restartOn(damage: (file: string, first: AuditRecord[]) => Promise<void>) {
      const file = join(dir, 'audit.jsonl');
      const first = await writeTrail(file, key, 3);
      await damage(file, first);
      const warnings: string[] = [];
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string, options?: { code?: string }) => {
        warnings.push(`${options?.code}: ${message}`);
      }) as typeof process.emitWarning);
      try {
        const t = await trail({ file });
        const next = await t.record(entry(4));
        await t.close();
        const written = (await readLines(file)).flatMap((l) => { try { return [JSON.parse(l) as AuditRecord]; } catch { return []; } });
        return { file, first, next, warnings, resumed: written.filter((r) => r.event === 'trail.resumed'), verified: await verifyAuditFile(file, key) };
      } finally {
        emitWarning.mockRestore();
      }
    }

    it('a torn last line (a crash mid-write): a trail.resumed record names the last good record, then the chain goes on from it', async () => {
      const { first, next, resumed, verified, warnings } = await restartOn((file) => appendFile(file, '{"v":1,"seq":4,"ti'));
      expect(resumed).toEqual([expect.objectContaining({ seq: 4, prev: first[2]!.hash, outcome: 'failure', actor: { type: 'service', id: 'billing' }, details: { reason: 'malformed', previousHead: `3:${first[2]!.hash}` } })]);
      expect(next).toMatchObject({ seq: 5, prev: resumed[0]!.hash });
      expect(verified).toMatchObject({ ok: false, records: 5, head: { seq: 5, hash: next.hash } });
      expect(verified.breaks).toEqual([expect.objectContaining({ line: 4, problem: 'malformed' }), expect.objectContaining({ line: 5, problem: 'resumed', seq: 4 })]);
      expect(warnings).toEqual([expect.stringMatching(/^KEYWARD_AUDIT_RESUMED: .*malformed.*after record 3/)]);
    });

    it('a forged last line (its seal does not hold) is not adopted: its seq is not continued, and the break stays visible', async () => {
      const planted = canary('forged');
      const { first, next, resumed, verified, warnings } = await restartOn(async (file, records) => {
        const forged = JSON.stringify({ ...records[2]!, seq: 1000, details: { n: planted } });
        await appendFile(file, `${forged}\n`);
      });
      expect(resumed).toEqual([expect.objectContaining({ seq: 4, prev: first[2]!.hash, details: { reason: 'bad-seal', previousHead: `3:${first[2]!.hash}` } })]);
      expect(next.seq).toBe(5);
      expect(verified.breaks.map((b) => [b.line, b.problem])).toEqual([[4, 'edited'], [5, 'resumed']]);
      expect(verified).toMatchObject({ records: 5, head: { seq: 5, hash: next.hash } });
      // The reason is a code: nothing of the line's content is repeated anywhere.
      const lastTwo = (await readLines(join(dir, 'audit.jsonl'))).slice(-2).join('\n');
      expectNoCanary({ records: lastTwo, warnings: warnings.join('\n'), verified: JSON.stringify(verified) }, planted, key);
    });

    it('a crafted last line that is not JSON but ends like a sealed one no longer stops start-up with a SyntaxError', async () => {
      const { resumed, next } = await restartOn((file) => appendFile(file, `{"v":1,"seq":9,]garbage,"hash":"${'a'.repeat(64)}"}\n`));
      expect(resumed).toEqual([expect.objectContaining({ seq: 4, details: expect.objectContaining({ reason: 'malformed' }) })]);
      expect(next.seq).toBe(5);
    });

    it('a file with no record whose seal holds (another key): a new segment from seq 1, naming no previous head', async () => {
      const { resumed, verified } = await restartOn(async (file) => {
        await rm(file);
        await writeTrail(file, canary('other-key'), 2);
      });
      expect(resumed).toEqual([expect.objectContaining({ seq: 1, prev: AUDIT_GENESIS, details: { reason: 'bad-seal', previousHead: null } })]);
      expect(verified.breaks.map((b) => [b.line, b.endLine, b.problem])).toEqual([[1, 2, 'edited'], [3, undefined, 'resumed']]);
      expect(verified).toMatchObject({ records: 2, head: { seq: 2 } });
    });

    it('records cut off at the end while the service was down: the file alone cannot tell, a head kept outside it can', async () => {
      const { first, next, resumed, verified } = await restartOn(async (file) => {
        const lines = await readLines(file);
        await writeFile(file, `${lines.slice(0, 2).join('\n')}\n`);
      });
      expect(resumed).toEqual([]);
      expect(next.seq).toBe(3);
      expect(verified).toMatchObject({ ok: true, breaks: [] });
      const kept = await verifyAuditFile(join(dir, 'audit.jsonl'), key, { expectHead: { seq: 3, hash: first[2]!.hash } });
      expect(kept).toMatchObject({ ok: false, keptHead: { found: false } });
    });
  });

  it('sensitive fields (request.ip, request.userAgent, a user actor id) are written only as hmac-sha256 under the field key', async () => {
    const ip = canary('ip');
    const userAgent = canary('agent');
    const userId = canary('user');
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    const written = await t.record({
      event: 'http.request',
      actor: { type: 'user', id: userId },
      outcome: 'denied',
      request: { id: 'req-1', method: 'GET', route: '/orders/:id', status: 403, durationMs: 12, ip, userAgent },
      error: { code: 'API_KEY_SCOPE' },
    });
    await t.close();

    const line = JSON.parse((await readLines(file))[0]!) as AuditRecord;
    expect(line).toEqual(written);
    expect(line.request).toEqual({ id: 'req-1', method: 'GET', route: '/orders/:id', status: 403, durationMs: 12, ip: auditHash(ip, key), userAgent: auditHash(userAgent, key) });
    expect(line.actor).toEqual({ type: 'user', id: auditHash(userId, key) });
    expect(line.error).toEqual({ code: 'API_KEY_SCOPE' });
    for (const hashed of [line.request!.ip!, line.request!.userAgent!, (line.actor as { id: string }).id]) expect(hashed).toMatch(HMAC);
    // trail.hash() is the same search needle.
    expect(t.hash(ip)).toBe(auditHash(ip, key));
    expectNoCanary({ file: await readFile(file, 'utf8'), record: JSON.stringify(written) }, ip, userAgent, userId, key);
  });

  it('`sensitive` chooses the hashed fields; api-key and service actors are never hashed', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file, sensitive: ['request.userAgent'] });
    await t.record({ event: 'http.request', actor: { type: 'user', id: 'u-1' }, outcome: 'success', request: { id: 'r', method: 'GET', route: null, status: 404, durationMs: 1, ip: '203.0.113.7', userAgent: 'curl/8' } });
    const defaults = await trail({ file: join(dir, 'other.jsonl') });
    const apiKey = await defaults.record({ event: 'http.request', actor: { type: 'api-key', id: 'a1B2c3D4e5F6', client: 'partner' }, outcome: 'success' });
    await t.close();
    const line = JSON.parse((await readLines(file))[0]!) as AuditRecord;
    expect(line.actor).toEqual({ type: 'user', id: 'u-1' });
    expect(line.request).toMatchObject({ ip: '203.0.113.7', userAgent: auditHash('curl/8', key) });
    expect(apiKey.actor).toEqual({ type: 'api-key', id: 'a1B2c3D4e5F6', client: 'partner' });
  });

  it('every sensitive value is hashed right however many distinct values came before (the remembered hashes are bounded)', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    // More distinct clients than the trail remembers, then the first ones again, after they were let go.
    const ips = [...Array.from({ length: 1500 }, (_v, i) => `198.51.${i >> 8}.${i & 255}`), '198.51.0.0', '198.51.0.1'];
    const agents = ips.map((_ip, i) => `agent/${i % 3}`);
    await Promise.all(ips.map((ip, i) => t.record({ event: 'http.request', actor: { type: 'anonymous' }, outcome: 'success', request: { id: `r${i}`, method: 'GET', route: '/', status: 200, durationMs: 1, ip, userAgent: agents[i] } })));
    await t.close();
    const lines = (await readLines(file)).map((l) => JSON.parse(l) as AuditRecord);
    expect(lines).toHaveLength(ips.length);
    lines.forEach((line, i) => expect(line.request).toEqual({ id: `r${i}`, method: 'GET', route: '/', status: 200, durationMs: 1, ip: auditHash(ips[i]!, key), userAgent: auditHash(agents[i]!, key) }));
  });

  it("writes a request's own fields only: an object with more (or a record's own fields) brings nothing else into the line", async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file, sensitive: [] });
    const smuggled = { id: 'r', method: 'GET', route: '/a', status: 200, durationMs: 1, ip: '203.0.113.9', body: canary('body') };
    const fake = { seq: 99, prev: 'f'.repeat(64), hash: 'e'.repeat(64), v: 2 };
    const written = await t.record({ ...fake, event: 'http.request', actor: { type: 'anonymous' }, outcome: 'success', request: smuggled } as never);
    await t.close();
    const line = JSON.parse((await readLines(file))[0]!) as AuditRecord;
    expect(line.request).toEqual({ id: 'r', method: 'GET', route: '/a', status: 200, durationMs: 1, ip: '203.0.113.9' });
    expect(line).toMatchObject({ v: 1, seq: 1, prev: AUDIT_GENESIS });
    expect(line).toEqual(written);
    expect(await verifyAuditFile(file, key)).toMatchObject({ ok: true, records: 1 });
  });

  it('refuses more than 31 transports (CONFIG_INVALID)', async () => {
    const transports = Array.from({ length: 32 }, () => new ScriptedTransport('ack'));
    await expect(createAuditTrail({ key, service: 's', transports })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('details, secrets read and error codes are written as given', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    const details = { secret: 'database', from: 'v1', to: 'v2', attempts: 2, dryRun: false, note: null, 'with "quotes"': 'a\nb' };
    await t.record({ event: 'secret.rotated', actor: t.service, outcome: 'failure', details, secrets: [{ name: 'database', version: 'v2' }], error: { code: 'PROVIDER_UNAVAILABLE' } });
    await t.close();
    const line = JSON.parse((await readLines(file))[0]!) as AuditRecord;
    expect(line).toMatchObject({ event: 'secret.rotated', actor: { type: 'service', id: 'billing' }, outcome: 'failure', details, secrets: [{ name: 'database', version: 'v2' }], error: { code: 'PROVIDER_UNAVAILABLE' } });
    expect(await verifyAuditFile(file, key)).toMatchObject({ ok: true, records: 1 });
  });

  it('1,000 records written concurrently: 1,000 lines in seq order, and the file verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    const records = await Promise.all(Array.from({ length: 1000 }, (_v, i) => t.record(entry(i + 1))));
    await t.close();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_v, i) => i + 1));
    const lines = await readLines(file);
    expect(lines).toHaveLength(1000);
    expect(lines.map((l) => (JSON.parse(l) as AuditRecord).seq)).toEqual(records.map((r) => r.seq));
    expect(await verifyAuditFile(file, key)).toEqual({ ok: true, records: 1000, head: { seq: 1000, hash: records[999]!.hash }, breaks: [] });
    expect(t.health()).toMatchObject({ written: 1000, failed: 0 });
  });

  it('an audit file it cannot read fails start-up with a stable code naming the file: a folder is CONFIG_INVALID, EACCES PERMISSION_DENIED, the rest AUDIT_UNAVAILABLE', async () => {
    const folder = join(dir, 'audit.jsonl');
    await mkdir(folder);
    const err = await rejection(createAuditTrail({ key, service: 's', file: folder }));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(folder) });
    // As root (CI) a mode cannot refuse a read: the mapping itself, for the errno codes open() and read() give.
    const errno = (code: string) => Object.assign(new Error(`${code}: x`), { code });
    expect(auditFileError(errno('EACCES'), '/var/log/a.jsonl')).toMatchObject({ code: 'PERMISSION_DENIED', message: 'the audit file /var/log/a.jsonl cannot be read (EACCES)' });
    expect(auditFileError(errno('EPERM'), 'a')).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(auditFileError(errno('EIO'), 'a')).toMatchObject({ code: 'AUDIT_UNAVAILABLE', message: 'the audit file a cannot be read (EIO)' });
  });

  it('refuses a key shorter than 16 bytes and a bad resume point (CONFIG_INVALID)', async () => {
    await expect(createAuditTrail({ key: 'short', service: 's', transports: [] })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(createAuditTrail({ key, service: 's', transports: [], resume: { seq: -1, hash: AUDIT_GENESIS } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(createAuditTrail({ key, service: 's', transports: [], resume: { seq: 1, hash: 'nope' } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('createAuditTrail: delivery', () => {
  it('a record never acknowledged rejects with AUDIT_UNAVAILABLE within writeTimeout; health is failing until a record is acknowledged', async () => {
    const sink = new ScriptedTransport('silent');
    const t = await trail({ transports: [sink], writeTimeout: '100ms' });
    const started = Date.now();
    const err = await rejection(t.record(entry(1)));
    const elapsed = Date.now() - started;
    expect(err.code).toBe('AUDIT_UNAVAILABLE');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1500);
    expect(t.health()).toEqual({ status: 'failing', written: 0, failed: 1, pending: 0, failures: { AUDIT_TIMEOUT: 1 }, lastFailure: { code: 'AUDIT_TIMEOUT', at: expect.any(String) }, head: { seq: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });

    sink.mode = 'ack';
    const next = await t.record(entry(2));
    // The failed record kept its place in the chain.
    expect(next.seq).toBe(2);
    expect(next.prev).toBe((JSON.parse(sink.lines[0]!) as AuditRecord).hash);
    expect(t.health()).toMatchObject({ status: 'ok', written: 1, failed: 1, pending: 0, lastFailure: { code: 'AUDIT_TIMEOUT' } });
  });

  it('a transport that emits error fails its records with AUDIT_UNAVAILABLE at once (not at the timeout)', async () => {
    const sink = new ScriptedTransport('error');
    const t = await trail({ transports: [sink], writeTimeout: '30s' });
    const err = await rejection(t.record(entry(1)));
    expect(err.code).toBe('AUDIT_UNAVAILABLE');
    expect(t.health()).toMatchObject({ status: 'failing', failed: 1, pending: 0, lastFailure: { code: 'AUDIT_SINK_ERROR' } });
    sink.mode = 'ack';
    await expect(t.record(entry(2))).resolves.toMatchObject({ seq: 2 });
    expect(t.health().status).toBe('ok');
  });

  it('with several transports, a record resolves only once every one acknowledged it', async () => {
    const fast = new ScriptedTransport('ack');
    const slow = new ScriptedTransport('hold');
    const t = await trail({ transports: [fast, slow], writeTimeout: '30s' });
    let settled = false;
    const pending = t.record(entry(1)).finally(() => (settled = true));
    await new Promise<void>((resolve) => fast.once('logged', () => setImmediate(resolve)));
    expect(settled).toBe(false);
    expect(t.health().pending).toBe(1);
    slow.mode = 'ack';
    slow.release();
    await expect(pending).resolves.toMatchObject({ seq: 1 });
    expect(t.health()).toMatchObject({ status: 'ok', written: 1, pending: 0 });
  });

  it('maxPending reached: a new record is refused at once with AUDIT_UNAVAILABLE and health is failing', async () => {
    const sink = new ScriptedTransport('hold');
    const t = await trail({ transports: [sink], writeTimeout: '30s', maxPending: 3 });
    const waiting = [1, 2, 3].map((n) => t.record(entry(n)));
    const refused = await rejection(t.record(entry(4)));
    expect(refused.code).toBe('AUDIT_UNAVAILABLE');
    expect(t.health()).toMatchObject({ status: 'failing', pending: 3, failed: 1, lastFailure: { code: 'AUDIT_BACKLOG' } });

    sink.mode = 'ack';
    sink.release();
    expect((await Promise.all(waiting)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(t.health()).toMatchObject({ status: 'ok', written: 3, failed: 1, pending: 0 });
  });

  it('close() waits for pending records, then refuses new ones with AUDIT_CLOSED; it is idempotent', async () => {
    const sink = new ScriptedTransport('hold');
    const t = await trail({ transports: [sink], writeTimeout: '30s' });
    const waiting = [1, 2, 3].map((n) => t.record(entry(n)));
    let closed = false;
    const closing = t.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(t.health()).toMatchObject({ status: 'closed', pending: 3 });
    await expect(t.record(entry(4))).rejects.toMatchObject({ code: 'AUDIT_CLOSED' });

    sink.mode = 'ack';
    sink.release();
    await closing;
    expect((await Promise.all(waiting)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(sink.lines).toHaveLength(3);
    await expect(t.close()).resolves.toBeUndefined();
    await expect(t.record(entry(5))).rejects.toMatchObject({ code: 'AUDIT_CLOSED' });
    expect(t.health()).toEqual({ status: 'closed', written: 3, failed: 0, pending: 0, failures: {}, head: { seq: 3, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  it('close() on the file transport: every record fired before it ends up in the file, fsynced, and the file verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trail({ file });
    const fired = Array.from({ length: 200 }, (_v, i) => t.record(entry(i + 1)));
    await Promise.all([t.close(), t.close()]);
    const records = await Promise.all(fired);
    expect(await readLines(file)).toHaveLength(200);
    expect(await verifyAuditFile(file, key)).toEqual({ ok: true, records: 200, head: { seq: 200, hash: records[199]!.hash }, breaks: [] });
  });

  it('by default a stalled sink is given 100,000 records before new ones are refused (a service at 20,000 audited requests/s for writeTimeout)', async () => {
    const sink = new ScriptedTransport('silent');
    const t = await trail({ transports: [sink], writeTimeout: '1s' });
    const sent = Array.from({ length: 20_000 }, (_v, i) => t.record(entry(i + 1)).catch((err: unknown) => err));
    expect(t.health()).toMatchObject({ failed: 0, pending: 20_000 });
    const refused = (await Promise.all(sent)).filter((err) => (err as KeywardError).message?.includes('waiting for their sink'));
    expect(refused).toHaveLength(0); // they time out (the sink never answers), none is refused for the backlog
  });

  it('close() does not wait longer than writeTimeout for a record that is never acknowledged', async () => {
    const sink = new ScriptedTransport('silent');
    const t = await trail({ transports: [sink], writeTimeout: '100ms' });
    const lost = rejection(t.record(entry(1)));
    await t.close();
    expect((await lost).code).toBe('AUDIT_UNAVAILABLE');
    expect(t.health()).toMatchObject({ status: 'closed', failed: 1, pending: 0, lastFailure: { code: 'AUDIT_TIMEOUT' } });
  });

  describe('health follows the newest evidence (records ordered by when they were sent)', () => {
    // Only the clock is faked: the transports' acknowledgements (setImmediate) and winston's streams run as usual.
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('a record sent before an acknowledged one times out: counted as lost, but the trail stays ok', async () => {
      const sink = new ScriptedTransport('silent');
      const t = await trail({ transports: [sink], writeTimeout: '1s' });
      const lost = rejection(t.record(entry(1)));
      sink.mode = 'ack';
      await t.record(entry(2));
      expect(t.health()).toMatchObject({ status: 'ok', written: 1, failed: 0, pending: 1 });

      jest.advanceTimersByTime(1000);
      expect((await lost).code).toBe('AUDIT_UNAVAILABLE');
      // The sink acknowledged a later write: it works now, whatever became of record 1.
      expect(t.health()).toEqual({ status: 'ok', written: 1, failed: 1, pending: 0, failures: { AUDIT_TIMEOUT: 1 }, lastFailure: { code: 'AUDIT_TIMEOUT', at: expect.any(String) }, head: { seq: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    });

    it('a record sent after the acknowledged one that times out still makes the trail failing', async () => {
      const sink = new ScriptedTransport('ack');
      const t = await trail({ transports: [sink], writeTimeout: '1s' });
      await t.record(entry(1));
      sink.mode = 'silent';
      const lost = rejection(t.record(entry(2)));
      jest.advanceTimersByTime(1000);
      expect((await lost).code).toBe('AUDIT_UNAVAILABLE');
      expect(t.health()).toMatchObject({ status: 'failing', written: 1, failed: 1, lastFailure: { code: 'AUDIT_TIMEOUT' } });
    });

    it('each record times out writeTimeout after it was sent, not with the first one', async () => {
      const sink = new ScriptedTransport('silent');
      const t = await trail({ transports: [sink], writeTimeout: '1s' });
      const settled: number[] = [];
      const first = rejection(t.record(entry(1))).then((err) => (settled.push(1), err));
      jest.advanceTimersByTime(400);
      const second = rejection(t.record(entry(2))).then((err) => (settled.push(2), err));
      jest.advanceTimersByTime(600); // the first one's time is up, not the second's
      expect((await first).code).toBe('AUDIT_UNAVAILABLE');
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toEqual([1]);
      expect(t.health()).toMatchObject({ failed: 1, pending: 1 });
      jest.advanceTimersByTime(399);
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toEqual([1]);
      jest.advanceTimersByTime(1);
      expect((await second).code).toBe('AUDIT_UNAVAILABLE');
      expect(t.health()).toMatchObject({ status: 'failing', failed: 2, pending: 0 });
    });

    it('a late acknowledgement of a record sent before a failed one does not make the trail ok', async () => {
      const broken = new ScriptedTransport('ack');
      const slow = new ScriptedTransport('hold');
      const t = await trail({ transports: [broken, slow], writeTimeout: '1s' });
      const older = t.record(entry(1)); // acknowledged by `broken`, held by `slow`
      await new Promise<void>((resolve) => broken.once('logged', () => setImmediate(resolve)));
      broken.mode = 'error';
      const failed = rejection(t.record(entry(2)));
      expect((await failed).code).toBe('AUDIT_UNAVAILABLE');
      expect(t.health()).toMatchObject({ status: 'failing', lastFailure: { code: 'AUDIT_SINK_ERROR' } });

      slow.mode = 'ack';
      slow.release();
      await expect(older).resolves.toMatchObject({ seq: 1 });
      expect(t.health()).toMatchObject({ status: 'failing', written: 1, failed: 1 });
    });
  });
});
