import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canary, entry, readLines, writeTrail } from '@keyward/test-support';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { verifyAuditFile } from './verify-audit.js';

let dir: string;
let key: string;
const open: AuditTrail[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-audit-file-'));
  key = canary('audit-key');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await rm(dir, { recursive: true, force: true });
});

async function trailOn(file: string): Promise<AuditTrail> {
  const t = await createAuditTrail({ key, service: 'billing', file, writeTimeout: '5s' });
  open.push(t);
  return t;
}

describe('AuditFileTransport: the file', () => {
  it('an existing file readable by others is made 0600 when the trail opens it', async () => {
    const file = join(dir, 'audit.jsonl');
    await writeTrail(file, key, 2);
    await chmod(file, 0o644);
    const t = await trailOn(file);
    await t.record(entry(3));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await t.close();
    expect(await verifyAuditFile(file, key)).toMatchObject({ ok: true, records: 3 });
  });

  it('a failed open is not kept: once the cause is gone, the next record opens the file and the trail recovers', async () => {
    const file = join(dir, 'audit.jsonl');
    const t = await trailOn(file);
    // The file cannot be opened for appending while a folder stands in its place (EISDIR).
    await mkdir(file);
    await expect(t.record(entry(1))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    expect(t.health()).toMatchObject({ status: 'failing', failed: 1 });
    await rmdir(file);

    await expect(t.record(entry(2))).resolves.toMatchObject({ seq: 2 });
    await expect(t.record(entry(3))).resolves.toMatchObject({ seq: 3 });
    expect(t.health()).toMatchObject({ status: 'ok', written: 2, failed: 1 });
    await t.close();
    // The lost record keeps its place: the file shows the gap it left, and nothing else.
    expect((await readLines(file)).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([2, 3]);
    expect((await verifyAuditFile(file, key)).breaks).toEqual([expect.objectContaining({ line: 1, problem: 'deleted', seq: 2 })]);
  });

  it('a file that cannot be created at first (its folder is a file) is created by a later record', async () => {
    const file = join(dir, 'logs', 'audit.jsonl');
    const t = await trailOn(file);
    await writeFile(join(dir, 'logs'), 'not a folder');
    await expect(t.record(entry(1))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    await rm(join(dir, 'logs'));
    await expect(t.record(entry(2))).resolves.toMatchObject({ seq: 2 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
