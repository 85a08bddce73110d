import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuditTrail, verifyAuditFile, type AuditRecord } from '@keyward/core';
import { canary, entry, readLines } from '@keyward/test-support';

// A real full disk: a 64 KiB tmpfs (this test mounts one, so it runs as root, as CI does here).
const KEY = canary('audit-key');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-disk-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
});

afterAll(async () => {
  execFileSync('umount', [dir]);
  await rm(dir, { recursive: true, force: true });
});

/** Fills the file system: writes until ENOSPC (what fits stays). */
async function fill(file: string): Promise<void> {
  await writeFile(file, Buffer.alloc(128 * 1024)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err;
  });
}

describe('the audit file on a full disk', () => {
  it('a write cut short fails the records it could not finish (counted as lost), leaves no torn line, and the trail recovers once there is room', async () => {
    const file = join(dir, 'audit.jsonl');
    const filler = join(dir, 'filler');
    const trail = await createAuditTrail({ key: KEY, service: 'billing', file, writeTimeout: '10s' });
    try {
      for (let n = 1; n <= 3; n += 1) await trail.record(entry(n));
      await fill(filler);

      // Many records at once: the first lines fit in the file's last page, the write stops short after them.
      const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_v, i) => trail.record(entry(4 + i))));
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(lost.length).toBeGreaterThan(0);
      for (const o of lost) expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
      expect(trail.health()).toMatchObject({ status: 'failing', failed: lost.length, lastFailure: { code: 'AUDIT_SINK_ERROR' } });

      await rm(filler);
      const after = await trail.record(entry(100));
      expect(trail.health()).toMatchObject({ status: 'ok' });
      await trail.close();

      // Every line is a whole record: exactly the acknowledged ones, in order, then the one after recovery.
      const written = (await readLines(file)).map((l) => JSON.parse(l) as AuditRecord);
      const acknowledged = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : []));
      expect(acknowledged.length).toBeGreaterThan(0); // the lines that were whole before the disk filled are kept
      expect(written.map((r) => r.seq)).toEqual([1, 2, 3, ...acknowledged, after.seq]);
      // The lost records left a gap: the verifier names it, and nothing else.
      const verified = await verifyAuditFile(file, KEY);
      expect(verified.breaks).toEqual([expect.objectContaining({ problem: 'deleted' })]);
      expect(verified.head).toEqual({ seq: after.seq, hash: after.hash });
    } finally {
      await trail.close();
    }
  });
});
