import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditHash, createAuditTrail, type AuditRecord } from '@keyward/core';
import { canary, expectNoCanary, readLines, reseal, tamper, writeLines, writeTrail } from '@keyward/test-support';
import { runCli, type CliRun } from './support/cli.js';

const AUDIT_KEY = canary('audit-key');
const OTHER_KEY = canary('other-key');

type Run = CliRun;

/** Every run's output, scanned for the audit keys after all tests. */
const runs: Run[] = [];
let dir: string;

const keyward = (args: string[], env: Record<string, string | undefined> = {}, cwd = dir): Promise<Run> => runCli(args, env, cwd, runs);

const keyEnv = { AUDIT_KEY };
const withKey = ['--key', 'env:AUDIT_KEY'];

describe('keyward audit (verify and hash trail files)', () => {
  let trailFile: string;
  let records: AuditRecord[];
  let lines: string[];
  let n = 0;

  /** A trail file made of `content`, in the test folder. */
  async function fileOf(content: readonly string[]): Promise<string> {
    const file = join(dir, `tampered-${++n}.jsonl`);
    await writeLines(file, content);
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-cli-audit-'));
    trailFile = join(dir, 'logs', 'audit.jsonl');
    records = await writeTrail(trailFile, AUDIT_KEY, 20);
    lines = await readLines(trailFile);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    const texts = Object.fromEntries(runs.flatMap((r, i) => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]));
    expectNoCanary(texts, AUDIT_KEY, OTHER_KEY);
  });

  describe('verify', () => {
    it('a chain that holds: exit 0 and a one-line summary with the head', async () => {
      const run = await keyward(['audit', 'verify', 'logs/audit.jsonl', ...withKey], keyEnv);
      expect(run).toEqual({ code: 0, stdout: `ok: 20 records, head seq 20 hash ${records[19]!.hash}\n`, stderr: '' });
    });

    it('a trail written by two runs of a service (resumed) verifies as one chain', async () => {
      const file = join(dir, 'resumed.jsonl');
      await writeTrail(file, AUDIT_KEY, 3);
      const trail = await createAuditTrail({ key: AUDIT_KEY, service: 'billing', file });
      const last = await trail.record({ event: 'http.request', actor: { type: 'user', id: 'u-42' }, outcome: 'denied', request: { id: 'r', method: 'GET', route: '/x', status: 403, durationMs: 2, ip: '203.0.113.7' } });
      await trail.close();
      expect(await keyward(['audit', 'verify', file, ...withKey], keyEnv)).toMatchObject({ code: 0, stdout: `ok: 4 records, head seq 4 hash ${last.hash}\n` });
    });

    it('an empty file: ok with 0 records', async () => {
      const file = await fileOf([]);
      expect(await keyward(['audit', 'verify', file, ...withKey], keyEnv)).toMatchObject({ code: 0, stdout: `ok: 0 records, head seq 0 hash ${'0'.repeat(64)}\n` });
    });

    it.each([
      ['a field edited on line 7', (l: string[]) => tamper.editOutcome(l, 7), 7, 'edited', 1],
      ['line 7 deleted', (l: string[]) => tamper.delete(l, 7), 7, 'deleted', 1],
      ['lines 7 and 8 swapped', (l: string[]) => tamper.swap(l, 7), 7, 'reordered', 1],
      ['line 3 moved to the end', (l: string[]) => tamper.moveToEnd(l, 3), 3, 'reordered', 1],
      ['line 7 truncated (torn write)', (l: string[]) => tamper.truncate(l, 7), 7, 'malformed', 1],
      ['line 7 re-sealed with another key', (l: string[]) => l.map((x, i) => (i === 6 ? reseal(x, OTHER_KEY, (b) => (b['outcome'] = 'denied')) : x)), 7, 'edited', 1],
      // Its hash changed with it: record 8 no longer follows it either.
      ['line 7 re-sealed with the key but another prev', (l: string[]) => l.map((x, i) => (i === 6 ? reseal(x, AUDIT_KEY, (b) => (b['prev'] = '1'.repeat(64))) : x)), 7, 'reordered', 2],
    ] as const)('%s: exit 1, AUDIT_CHAIN_BROKEN naming the line and the problem', async (_what, change, line, problem, count) => {
      const file = await fileOf(change(lines));
      const run = await keyward(['audit', 'verify', file, ...withKey], keyEnv);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^keyward: AUDIT_CHAIN_BROKEN: line ${line}: ${problem}: .+\\n`));
      expect(run.stderr.split('\n')).toHaveLength(count + 1); // one line a break
    });

    it('several breaks: one line each, in file order, so one torn line does not hide the rest', async () => {
      const file = await fileOf(tamper.delete(tamper.truncate(tamper.editOutcome(lines, 5), 12), 17));
      const run = await keyward(['audit', 'verify', file, ...withKey], keyEnv);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr.trimEnd().split('\n').map((l) => /^keyward: AUDIT_CHAIN_BROKEN: (line \d+: \w+):/.exec(l)?.[1])).toEqual(['line 5: edited', 'line 12: malformed', 'line 17: deleted']);
    });

    it('--expect-head SEQ:HASH: a head noted earlier still in the file: exit 0 and the line that holds it', async () => {
      const run = await keyward(['audit', 'verify', trailFile, ...withKey, '--expect-head', `12:${records[11]!.hash}`], keyEnv);
      expect(run).toEqual({ code: 0, stdout: `ok: 20 records, head seq 20 hash ${records[19]!.hash}\nkept head seq 12 is in the chain at line 12\n`, stderr: '' });
    });

    it('--expect-head after records were cut off at the end: exit 1 with AUDIT_HEAD_MISSING (the chain itself still holds)', async () => {
      const file = await fileOf(lines.slice(0, 15));
      expect(await keyward(['audit', 'verify', file, ...withKey], keyEnv)).toMatchObject({ code: 0 });
      const run = await keyward(['audit', 'verify', file, ...withKey, '--expect-head', `18:${records[17]!.hash}`], keyEnv);
      expect(run).toEqual({ code: 1, stdout: '', stderr: `keyward: AUDIT_HEAD_MISSING: kept head seq 18 hash ${records[17]!.hash}: the file ends at record 15: the records after it were cut off (in ${file})\n` });
      const json = await keyward(['audit', 'verify', file, ...withKey, '--expect-head', `18:${records[17]!.hash}`, '--json'], keyEnv);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, breaks: [], keptHead: { seq: 18, hash: records[17]!.hash, found: false } });
    });

    it('--expect-head after records were cut off and a restarted service wrote their seq again: exit 1, another record at that seq', async () => {
      const file = await fileOf(lines.slice(0, 15));
      await writeTrail(file, AUDIT_KEY, 5, 100);
      const run = await keyward(['audit', 'verify', file, ...withKey, '--expect-head', `18:${records[17]!.hash}`], keyEnv);
      expect(run).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: AUDIT_HEAD_MISSING: kept head seq 18 hash [0-9a-f]{64}: record 18 at line 18 is another record/) });
    });

    it.each([['18'], ['18:abc'], [`x:${'a'.repeat(64)}`], [`1.5:${'a'.repeat(64)}`], [`1:${'A'.repeat(64)}`]])('--expect-head %s (not SEQ:HASH): a usage error, exit 2', async (head) => {
      const run = await keyward(['audit', 'verify', trailFile, ...withKey, '--expect-head', head], keyEnv);
      expect(run).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/--expect-head takes SEQ:HASH/) });
    });

    it('a service restarted on a forged last line: verify names the forged line and the restart, and the new segment after it verifies', async () => {
      const file = await fileOf(lines.slice(0, 10));
      const forged = canary('forged-line');
      await writeFile(file, `${lines[9]!.replace('"n":10', `"n":"${forged}"`)}\n`, { flag: 'a' });
      await writeTrail(file, AUDIT_KEY, 2, 11);
      const run = await keyward(['audit', 'verify', file, ...withKey], keyEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^keyward: AUDIT_CHAIN_BROKEN: line 11: edited: .*\\nkeyward: AUDIT_CHAIN_BROKEN: line 12: resumed: .*\\(bad-seal\\).* after 10:${records[9]!.hash}.*\\n$`));
      expect(run.stderr).not.toContain(forged);
      const json = JSON.parse((await keyward(['audit', 'verify', file, ...withKey, '--json'], keyEnv)).stdout) as { records: number; head: { seq: number } };
      expect(json).toMatchObject({ records: 13, head: { seq: 13 } });
    });

    it('the wrong key: exit 1, edited at line 1', async () => {
      const run = await keyward(['audit', 'verify', trailFile, '--key', 'env:OTHER'], { OTHER: OTHER_KEY });
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^keyward: AUDIT_CHAIN_BROKEN: lines 1\.\.20: edited: /);
    });

    it('--json: one JSON object on stdout, ok or with the break (and the error line on stderr)', async () => {
      const ok = await keyward(['audit', 'verify', trailFile, ...withKey, '--json'], keyEnv);
      expect(ok.code).toBe(0);
      expect(ok.stderr).toBe('');
      expect(JSON.parse(ok.stdout)).toEqual({ file: trailFile, ok: true, records: 20, head: { seq: 20, hash: records[19]!.hash }, breaks: [] });

      const file = await fileOf(tamper.delete(lines, 7));
      const broken = await keyward(['audit', 'verify', file, ...withKey, '--json'], keyEnv);
      expect(broken.code).toBe(1);
      const brk = { line: 7, problem: 'deleted', seq: 8, message: expect.stringContaining('records 7..7 are missing') };
      expect(JSON.parse(broken.stdout)).toEqual({ file, ok: false, records: 19, head: { seq: 20, hash: records[19]!.hash }, breaks: [brk], break: brk });
      expect(broken.stderr).toMatch(/^keyward: AUDIT_CHAIN_BROKEN: line 7: deleted: /);
    });

    it('the key from KEYWARD_AUDIT_KEY, from a file: location, and from "auditKey" in the config file; the flag wins', async () => {
      expect(await keyward(['audit', 'verify', trailFile], { KEYWARD_AUDIT_KEY: 'env:AUDIT_KEY', AUDIT_KEY })).toMatchObject({ code: 0 });

      const keyFile = join(dir, 'audit-key');
      await writeFile(keyFile, `${AUDIT_KEY}\n`, { mode: 0o600 });
      expect(await keyward(['audit', 'verify', trailFile, '--key', `file:${keyFile}`])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: 20 records/) });

      const cwd = join(dir, 'with-config');
      await mkdir(join(cwd, '.keyward'), { recursive: true });
      const config = join(cwd, '.keyward', 'cli.json');
      await writeFile(config, JSON.stringify({ auditKey: 'file:../audit-key' }));
      await chmod(config, 0o600);
      expect(await keyward(['audit', 'verify', trailFile], {}, cwd)).toMatchObject({ code: 0, stderr: '' });
      // Flag > environment > config file: a wrong key given by flag is the one used.
      const flagged = await keyward(['audit', 'verify', trailFile, '--key', 'env:OTHER'], { OTHER: OTHER_KEY, KEYWARD_AUDIT_KEY: 'env:AUDIT_KEY', AUDIT_KEY }, cwd);
      expect(flagged.stderr).toMatch(/lines 1\.\.20: edited/);
      const fromEnv = await keyward(['audit', 'verify', trailFile], { KEYWARD_AUDIT_KEY: 'env:OTHER', OTHER: OTHER_KEY }, cwd);
      expect(fromEnv.stderr).toMatch(/lines 1\.\.20: edited/);
    });

    it('a missing file: exit 1 with AUDIT_FILE_NOT_FOUND (and a folder is not a trail)', async () => {
      const missing = await keyward(['audit', 'verify', 'nope.jsonl', ...withKey], keyEnv);
      expect(missing).toEqual({ code: 1, stdout: '', stderr: `keyward: AUDIT_FILE_NOT_FOUND: no audit trail at ${join(dir, 'nope.jsonl')}\n` });
      const folder = await keyward(['audit', 'verify', 'logs', ...withKey], keyEnv);
      expect(folder).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: AUDIT_FILE_NOT_FOUND: .*logs is not a file/) });
    });

    it('no key, a key variable not set, a key too short: exit 1 with a code and no key in the message', async () => {
      expect(await keyward(['audit', 'verify', trailFile])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: no audit key location: pass --key/) });
      const unset = await keyward(['audit', 'verify', trailFile, '--key', 'env:NOT_SET']);
      expect(unset).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: SECRET_NOT_FOUND: .*NOT_SET/) });
      expect(await keyward(['audit', 'verify', trailFile, '--key', 'env:SHORT'], { SHORT: 'tiny' })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: the audit key must be at least 16 bytes/) });
      const badForm = await keyward(['audit', 'verify', trailFile, '--key', AUDIT_KEY]);
      expect(badForm).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: the audit key location has an unknown scheme|^keyward: CONFIG_INVALID: the audit key location has no scheme/) });
    });

    it.each([
      [['audit'], /missing audit command/],
      [['audit', 'check'], /unknown audit command "check"/],
      [['audit', 'verify', ...withKey], /missing <file>/],
      [['audit', 'verify', 'a.jsonl', 'b.jsonl', ...withKey], /unexpected positional argument #2/],
      [['audit', 'verify', 'a.jsonl', '--bogus'], /unknown option '--bogus'/],
      [['audit', 'hash', ...withKey], /missing <value>/],
    ])('usage error %j exits 2 with a short usage', async (args, message) => {
      const run = await keyward(args, keyEnv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/Usage:/);
    });

    it('--help lists the commands and the key options', async () => {
      const group = await keyward(['audit', '--help']);
      expect(group).toMatchObject({ code: 0, stderr: '' });
      expect(group.stdout).toMatch(/keyward audit verify[\s\S]*keyward audit hash[\s\S]*KEYWARD_AUDIT_KEY/);
      expect((await keyward(['--help'])).stdout).toMatch(/\n {2}audit {4,}Verify audit trail files/);
    });
  });

  describe('hash', () => {
    it('prints hmac-sha256:<hex> of the value under the field key, the form the trail holds', async () => {
      const ip = '203.0.113.7';
      const run = await keyward(['audit', 'hash', ip, ...withKey], keyEnv);
      expect(run).toEqual({ code: 0, stdout: `${auditHash(ip, AUDIT_KEY)}\n`, stderr: '' });
      expect(run.stdout).toMatch(/^hmac-sha256:[0-9a-f]{64}\n$/);

      // ...and it finds the record of that IP in a trail file.
      const file = join(dir, 'search.jsonl');
      const trail = await createAuditTrail({ key: AUDIT_KEY, service: 'billing', file });
      await trail.record({ event: 'http.request', actor: { type: 'anonymous' }, outcome: 'denied', request: { id: 'r1', method: 'GET', route: '/a', status: 401, durationMs: 1, ip } });
      await trail.record({ event: 'http.request', actor: { type: 'anonymous' }, outcome: 'success', request: { id: 'r2', method: 'GET', route: '/a', status: 200, durationMs: 1, ip: '198.51.100.1' } });
      await trail.close();
      const found = (await readLines(file)).filter((l) => l.includes(run.stdout.trimEnd()));
      expect(found).toHaveLength(1);
      expect(found[0]).toContain('"id":"r1"');

      const json = await keyward(['audit', 'hash', 'u-42', ...withKey, '--json'], keyEnv);
      expect(JSON.parse(json.stdout)).toEqual({ hash: auditHash('u-42', AUDIT_KEY) });
    });
  });
});
