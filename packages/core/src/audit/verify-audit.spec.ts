import { beforeAll, afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canary, readLines, reseal, tamper, writeLines, writeTrail } from '@keyward/test-support';
import { AUDIT_GENESIS, type AuditRecord } from './audit-record.js';
import { verifyAuditFile } from './verify-audit.js';

const KEY = canary('audit-key');
const OTHER_KEY = canary('other-key');

let dir: string;
let original: string;
let lines: string[];
let records: AuditRecord[];
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-verify-'));
  original = join(dir, 'audit.jsonl');
  records = await writeTrail(original, KEY, 20);
  lines = await readLines(original);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the trail made of `content` (lines, or raw text), to verify. */
async function fileOf(content: readonly string[] | string): Promise<string> {
  const file = join(dir, `tampered-${++n}.jsonl`);
  if (typeof content === 'string') await writeFile(file, content);
  else await writeLines(file, content);
  return file;
}

/** What verify reports for a file with one break, `brk`, that leaves `good` records chained, ending at the last one. */
function brokenOnce(good: number, brk: Record<string, unknown>) {
  return { ok: false, records: good, head: { seq: 20, hash: records[19]!.hash }, breaks: [expect.objectContaining(brk)], break: expect.objectContaining(brk) };
}

describe('verifyAuditFile', () => {
  it('a trail as written verifies: every record, and its head is the last record', async () => {
    expect(lines).toHaveLength(20);
    expect(await verifyAuditFile(original, KEY)).toEqual({ ok: true, records: 20, head: { seq: 20, hash: records[19]!.hash }, breaks: [] });
  });

  it('an empty file verifies with 0 records and the genesis head', async () => {
    expect(await verifyAuditFile(await fileOf(''), KEY)).toEqual({ ok: true, records: 0, head: { seq: 0, hash: AUDIT_GENESIS }, breaks: [] });
  });

  it('a field edited on line 7 ("outcome":"success" -> "denied"): edited at line 7', async () => {
    const edited = tamper.editOutcome(lines, 7);
    expect(edited[6]).toContain('"outcome":"denied"');
    expect(await verifyAuditFile(await fileOf(edited), KEY)).toEqual(brokenOnce(19, { line: 7, problem: 'edited', seq: 7, message: expect.stringContaining('record 7') }));
  });

  it('line 7 deleted: deleted at line 7 (where record 8 now is)', async () => {
    expect(await verifyAuditFile(await fileOf(tamper.delete(lines, 7)), KEY)).toEqual(
      brokenOnce(19, { line: 7, problem: 'deleted', seq: 8, message: expect.stringContaining('records 7..7 are missing') }),
    );
  });

  it('the last record deleted leaves no gap: the chain holds, only its head tells (compare it with a copy kept elsewhere)', async () => {
    expect(await verifyAuditFile(await fileOf(lines.slice(0, 19)), KEY)).toEqual({ ok: true, records: 19, head: { seq: 19, hash: records[18]!.hash }, breaks: [] });
  });

  it('lines 7 and 8 swapped: reordered at line 7', async () => {
    expect(await verifyAuditFile(await fileOf(tamper.swap(lines, 7)), KEY)).toEqual(
      brokenOnce(19, { line: 7, problem: 'reordered', seq: 8, message: expect.stringContaining('record 7 was moved to line 8') }),
    );
  });

  it('line 3 moved to the end: reordered at line 3', async () => {
    expect(await verifyAuditFile(await fileOf(tamper.moveToEnd(lines, 3)), KEY)).toEqual(
      brokenOnce(19, { line: 3, problem: 'reordered', seq: 4, message: expect.stringContaining('record 3 was moved to line 20') }),
    );
  });

  it('a line repeated (replayed): reordered where the copy is', async () => {
    const replayed = [...lines.slice(0, 10), lines[4]!, ...lines.slice(10)];
    expect(await verifyAuditFile(await fileOf(replayed), KEY)).toEqual(brokenOnce(20, { line: 11, problem: 'reordered', seq: 5 }));
  });

  it('a torn last line (a crash mid-write, no newline): malformed at that line, the records before it verify', async () => {
    const torn = `${lines.slice(0, 19).join('\n')}\n${lines[19]!.slice(0, 40)}`;
    expect(await verifyAuditFile(await fileOf(torn), KEY)).toEqual({ ...brokenOnce(19, { line: 20, problem: 'malformed' }), head: { seq: 19, hash: records[18]!.hash } });
  });

  it('a line truncated in the middle of the file: malformed at line 7', async () => {
    const result = await verifyAuditFile(await fileOf(tamper.truncate(lines, 7)), KEY);
    expect(result).toEqual(brokenOnce(19, { line: 7, problem: 'malformed' }));
    expect(result.break).not.toHaveProperty('seq');
  });

  it('a line that is not JSON but ends like a sealed one: malformed', async () => {
    const forged = lines.map((l, i) => (i === 6 ? `garbage,"hash":"${'a'.repeat(64)}"}` : l));
    expect(await verifyAuditFile(await fileOf(forged), KEY)).toEqual(brokenOnce(19, { line: 7, problem: 'malformed' }));
  });

  it('line 7 edited and re-sealed with the wrong key: edited at line 7', async () => {
    const forged = [...lines];
    forged[6] = reseal(lines[6]!, OTHER_KEY, (body) => (body['outcome'] = 'denied'));
    expect(await verifyAuditFile(await fileOf(forged), KEY)).toEqual(brokenOnce(19, { line: 7, problem: 'edited', seq: 7 }));
  });

  it('line 7 re-sealed with the right key but another prev: reported as reordered at line 7 (prev names another record)', async () => {
    // prev is inside the sealed text, so the hash matches; what breaks is the link to line 6.
    const forged = [...lines];
    forged[6] = reseal(lines[6]!, KEY, (body) => (body['prev'] = records[2]!.hash));
    // Its own hash changed with it, so record 8 no longer follows it either.
    expect((await verifyAuditFile(await fileOf(forged), KEY)).breaks).toEqual([
      expect.objectContaining({ line: 7, problem: 'reordered', seq: 7, message: expect.stringContaining('prev names another record') }),
      expect.objectContaining({ line: 8, problem: 'reordered', seq: 8 }),
    ]);
  });

  it('line 7 edited and re-sealed with the right key (prev kept): the break shows at line 8, whose prev no longer matches', async () => {
    const forged = [...lines];
    forged[6] = reseal(lines[6]!, KEY, (body) => (body['outcome'] = 'denied'));
    expect(await verifyAuditFile(await fileOf(forged), KEY)).toEqual(brokenOnce(20, { line: 8, problem: 'reordered', seq: 8 }));
  });

  it('the wrong key: edited at line 1', async () => {
    expect(await verifyAuditFile(original, OTHER_KEY)).toEqual({ ok: false, records: 0, head: { seq: 0, hash: AUDIT_GENESIS }, breaks: [expect.objectContaining({ line: 1, endLine: 20, problem: 'edited', seq: 1 })], break: expect.anything() });
  });

  it('blank lines are skipped but counted in line numbers', async () => {
    const spaced = [...lines.slice(0, 3), '', ...tamper.editOutcome(lines, 4).slice(3)];
    expect(await verifyAuditFile(await fileOf(spaced), KEY)).toEqual(brokenOnce(19, { line: 5, problem: 'edited', seq: 4 }));
  });

  it('CRLF line endings (a file copied through Windows) still verify', async () => {
    expect(await verifyAuditFile(await fileOf(lines.map((l) => `${l}\r\n`).join('')), KEY)).toMatchObject({ ok: true, records: 20 });
  });

  it('every break is reported, not only the first: an edit, a torn line and a deletion far apart', async () => {
    const damaged = tamper.delete(tamper.truncate(tamper.editOutcome(lines, 5), 12), 17);
    const result = await verifyAuditFile(await fileOf(damaged), KEY);
    expect(result).toEqual({
      ok: false,
      records: 17,
      head: { seq: 20, hash: records[19]!.hash },
      breaks: [
        expect.objectContaining({ line: 5, problem: 'edited', seq: 5 }),
        expect.objectContaining({ line: 12, problem: 'malformed' }),
        expect.objectContaining({ line: 17, problem: 'deleted', seq: 18, message: expect.stringContaining('records 17..17 are missing') }),
      ],
      break: expect.objectContaining({ line: 5 }),
    });
  });

  it('consecutive lines with the same problem are one break spanning them (a wrong key is one break, not one per line)', async () => {
    const torn = lines.map((l, i) => (i >= 9 && i <= 11 ? l.slice(0, 30) : l));
    const result = await verifyAuditFile(await fileOf(torn), KEY);
    expect(result.breaks).toEqual([{ line: 10, endLine: 12, problem: 'malformed', message: expect.stringContaining('3 lines') }]);
    // Records 13.. follow three unreadable lines: the gap they leave is the break already reported.
    expect(result).toMatchObject({ records: 17, head: { seq: 20, hash: records[19]!.hash } });
  });

  describe('a head kept elsewhere (expectHead): the only proof that records were cut off at the end', () => {
    it('the kept head is still in the chain: ok, and the line that holds it', async () => {
      const result = await verifyAuditFile(original, KEY, { expectHead: { seq: 12, hash: records[11]!.hash } });
      expect(result).toMatchObject({ ok: true, keptHead: { seq: 12, hash: records[11]!.hash, found: true, line: 12 } });
    });

    it('records cut off at the end (the chain still holds): not ok, the kept head is missing', async () => {
      const result = await verifyAuditFile(await fileOf(lines.slice(0, 15)), KEY, { expectHead: { seq: 18, hash: records[17]!.hash } });
      expect(result).toMatchObject({ ok: false, breaks: [], keptHead: { seq: 18, found: false, message: expect.stringContaining('the file ends at record 15') } });
      expect(result).not.toHaveProperty('keptHead.line');
    });

    it('records cut off and the seq written again by a resumed service: the record there has another hash', async () => {
      const file = await fileOf(lines.slice(0, 15));
      await writeTrail(file, KEY, 5, 100);
      const result = await verifyAuditFile(file, KEY, { expectHead: { seq: 18, hash: records[17]!.hash } });
      expect(result).toMatchObject({ ok: false, breaks: [], records: 20, keptHead: { found: false, message: expect.stringContaining('record 18 at line 18 is another record') } });
    });

    it('a kept head whose record was edited is not found either', async () => {
      const result = await verifyAuditFile(await fileOf(tamper.editOutcome(lines, 18)), KEY, { expectHead: { seq: 18, hash: records[17]!.hash } });
      expect(result).toMatchObject({ ok: false, keptHead: { found: false } });
      expect(result.breaks).toHaveLength(1);
    });
  });

  it('refuses a short key (CONFIG_INVALID) and rejects for a missing file (ENOENT)', async () => {
    await expect(verifyAuditFile(original, 'short')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(verifyAuditFile(join(dir, 'missing.jsonl'), KEY)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
