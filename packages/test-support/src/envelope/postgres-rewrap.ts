import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEnvelope, KeywardError, parseEnvelope, type RewrapItem, type RewrapProgress } from '@keyward/core';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import type pg from 'pg';
import type { KekHarness } from './kek-conformance.js';

const ROWS = 10_000;
const PAGE = 500;

/**
 * The KEK rotation an operator runs on a real table: 10,000 envelopes in PostgreSQL, the KEK
 * rotated in its backend, `rewrapAll` over a keyset-paged cursor, stopped half-way and resumed
 * from `resumeAfter`, then run again (nothing to do). Proves the ciphertext bytes never change,
 * every row decrypts under the new version, and after the old version is retired a row left on it
 * fails with KEK_DISABLED, not with garbage.
 */
export function describeRewrapInPostgres(name: string, setup: () => Promise<KekHarness>, teardown?: () => Promise<void>): void {
  describe(`${name}: re-wrapping ${ROWS} envelopes in PostgreSQL`, () => {
    let postgres: RunningPostgres;
    let db: pg.Client;
    let harness: KekHarness;

    beforeAll(async () => {
      [postgres, harness] = await Promise.all([startEmbeddedPostgres(), setup()]);
      db = await postgres.connect();
      await db.query('CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)');
      await db.query('CREATE TABLE archive (id integer PRIMARY KEY, body text NOT NULL)');
    }, 120_000);
    afterAll(async () => {
      await db?.end();
      await postgres?.stop();
      await teardown?.();
    });

    const context = (id: number) => ({ table: 'notes', id: String(id) });
    /** Keyset pagination, as a job over a big table reads it: from after `after`, a page at a time. */
    async function* rows(after = 0): AsyncGenerator<RewrapItem<number>> {
      for (let last = after; ; ) {
        const page = await db.query<{ id: number; body: string }>('SELECT id, body FROM notes WHERE id > $1 ORDER BY id LIMIT $2', [last, PAGE]);
        for (const row of page.rows) yield { id: row.id, envelope: row.body, context: context(row.id) };
        if (page.rows.length < PAGE) return;
        last = page.rows.at(-1)!.id;
      }
    }

    it('re-wraps every data key after a KEK rotation, resumably, without changing a ciphertext byte', async () => {
      const envelope = createEnvelope({ kek: harness.kek });
      try {
        // 10,000 rows, each sealed under its own context (so a data key per row), 50 at a time.
        for (let start = 1; start <= ROWS; start += PAGE) {
          const ids = Array.from({ length: PAGE }, (_, i) => start + i);
          const bodies: string[] = [];
          for (let at = 0; at < ids.length; at += 50) {
            bodies.push(...(await Promise.all(ids.slice(at, at + 50).map((id) => envelope.encrypt(`note ${id}: ${'x'.repeat(id % 50)}`, { context: context(id) })))));
          }
          await db.query('INSERT INTO notes (id, body) SELECT * FROM unnest($1::int[], $2::text[])', [ids, bodies]);
        }
        const left = await envelope.encrypt('left on the old version', { context: { table: 'archive', id: '1' } });
        await db.query('INSERT INTO archive (id, body) VALUES (1, $1)', [left]);
        const before = new Map((await db.query<{ id: number; body: string }>('SELECT id, body FROM notes')).rows.map((r) => [r.id, parseEnvelope(r.body)]));
        const oldVersion = before.get(1)!.kek.keyVersion;

        await harness.rotate();
        const reader = createEnvelope({ kek: harness.kek });
        const save = async (item: RewrapItem<number>, sealed: unknown) => void (await db.query('UPDATE notes SET body = $2 WHERE id = $1', [item.id, sealed]));

        // Stopped by the operator part-way; the last progress says where to resume.
        const controller = new AbortController();
        let lastProgress: RewrapProgress<number> | undefined;
        const stopped = await reader
          .rewrapAll(rows(), {
            save,
            concurrency: 8,
            progressEvery: 500,
            signal: controller.signal,
            onProgress: (p) => {
              lastProgress = p;
              if (p.seen >= 3_000) controller.abort(new Error('stopped by the operator'));
            },
          })
          .then(() => 'finished', (err: Error) => err.message);
        expect(stopped).toBe('stopped by the operator');
        const resumeAfter = lastProgress!.resumeAfter!;
        expect(resumeAfter).toBeGreaterThanOrEqual(3_000);
        expect(resumeAfter).toBeLessThan(ROWS);

        const resumed = await reader.rewrapAll(rows(resumeAfter), { save, concurrency: 8 });
        expect(resumed).toMatchObject({ seen: ROWS - resumeAfter, failed: 0 });
        const again = await reader.rewrapAll(rows(), { save, concurrency: 8 });
        expect(again).toMatchObject({ seen: ROWS, rewrapped: 0, alreadyCurrent: ROWS, failed: 0 });

        const after = (await db.query<{ id: number; body: string }>('SELECT id, body FROM notes ORDER BY id')).rows;
        expect(after).toHaveLength(ROWS);
        const newVersions = new Set<string>();
        for (const row of after) {
          const parts = parseEnvelope(row.body);
          const old = before.get(row.id)!;
          expect(parts.iv.equals(old.iv) && parts.ciphertext.equals(old.ciphertext)).toBe(true);
          newVersions.add(parts.kek.keyVersion);
        }
        expect([...newVersions]).toHaveLength(1);
        expect(newVersions.has(oldVersion)).toBe(false);
        // A page at a time, as a reader of the table would (not 10,000 key-service calls at once).
        for (let start = 0; start < after.length; start += 100) {
          const page = after.slice(start, start + 100);
          const texts = await Promise.all(page.map((row) => reader.decryptText(row.body, { context: context(row.id) })));
          texts.forEach((text, i) => expect(text).toBe(`note ${page[i]!.id}: ${'x'.repeat(page[i]!.id % 50)}`));
        }

        await harness.retireOldVersions();
        try {
          const err = await reader.decrypt(left, { context: { table: 'archive', id: '1' } }).then(() => undefined, (e: unknown) => e);
          expect(KeywardError.is(err, 'KEK_DISABLED')).toBe(true);
          if (!harness.retiringDisablesKey) expect(await reader.decryptText(after[0]!.body, { context: context(after[0]!.id) })).toBe('note 1: x');
        } finally {
          await harness.restoreVersions?.();
        }
      } finally {
        envelope.close();
      }
    }, 300_000);
  });
}
