import { KeywardError, type KeywardErrorCode, type RewrapItem, type RewrapProgress, type SealedEnvelope } from '@keyward/core';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from './commands.js';
import { formatEnvelopeLine, joinLines, parseEnvelopeLine, recordId, replaceFile, splitLines } from './envelope-file.js';
import { CONTEXT_HELP, CONTEXT_OPTIONS, contextOf, fileError, integerOf, KEK_OPTIONS, required, withEnvelope } from './envelope-options.js';

/** `keyward envelope rewrap`: a file of envelopes moved to the KEK's current version, in place. */
export const rewrap: Command = {
  summary: "Re-wrap a file of envelopes under the KEK's current version, in place",
  synopsis: '--file PATH [--context KEY=VALUE]... [--concurrency N] [--dry-run]',
  help: `Each line of the file is an envelope (kw1.… or its JSON form), sealed with --context, or a record
{"id": ..., "envelope": ..., "context": {...}} with its own context. Every envelope not on the KEK's
current version gets its data key re-wrapped (the IV and ciphertext stay the same bytes); lines keep
their shape. The file is replaced atomically, with its mode. Running it again re-wraps nothing.

Options:
  --file PATH           the file of envelopes, one a line
${CONTEXT_HELP}
  --concurrency N       envelopes in flight at once (default 8)
  --dry-run             re-wrap but do not write the file

Progress goes to stderr, then one JSON line to stdout:
  {"file", "currentVersion", "seen", "rewrapped", "alreadyCurrent", "failed", "failures": [{"line", "id"?, "code"}], "written", "dryRun"}
A line that cannot be re-wrapped (DECRYPT_FAILED, KEK_DISABLED, ENVELOPE_MALFORMED) is kept as it is
and reported: exit 1. When the key service fails (KEK_UNAVAILABLE, PERMISSION_DENIED) the run stops after the
envelopes in flight: what was re-wrapped is written, the summary says "stoppedBy" (its "failures" then
lists only the lines that are not envelopes), and the error follows on stderr. Run it again to go on.`,
  options: { ...KEK_OPTIONS, ...CONTEXT_OPTIONS, file: { type: 'string' }, concurrency: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run(context) {
    const path = resolve(context.io.cwd, required(context, 'file'));
    const encryptionContext = contextOf(context);
    const concurrency = integerOf(context, 'concurrency', 8, 1, 256);
    const dryRun = context.values['dry-run'] === true;
    return withEnvelope(context, async (envelope, opened) => {
      let original: Buffer;
      try {
        original = await readFile(path);
      } catch (err) {
        throw fileError(err, path);
      }
      const file = splitLines(original.toString('utf8'));
      const parsed = file.lines.map(parseEnvelopeLine);
      // Lines that are not even records count as seen and failed from the start; rewrapAll never sees them.
      const malformed = parsed.flatMap((line, i) => (line.kind === 'malformed' ? [{ id: i + 1, code: line.code }] : []));
      const counts = (p: RewrapProgress<number> | undefined) => ({
        seen: (p?.seen ?? 0) + malformed.length,
        rewrapped: p?.rewrapped ?? 0,
        alreadyCurrent: p?.alreadyCurrent ?? 0,
        failed: (p?.failed ?? 0) + malformed.length,
      });
      const progress = (p: RewrapProgress<number>) => {
        const { seen, rewrapped, alreadyCurrent, failed } = counts(p);
        context.output.err(`rewrap: ${seen} seen, ${rewrapped} re-wrapped, ${alreadyCurrent} already current, ${failed} failed\n`);
      };
      const currentVersion = await opened.kek.currentVersion({ fresh: true });
      context.output.err(`rewrap: ${path}: re-wrapping under ${opened.description}, current version ${currentVersion}${dryRun ? ' (dry run)' : ''}\n`);
      const items = parsed.flatMap((line, i): RewrapItem<number>[] =>
        line.kind === 'bare' || line.kind === 'record' ? [{ id: i + 1, envelope: line.envelope, context: (line.kind === 'record' ? line.context : undefined) ?? encryptionContext }] : [],
      );
      const changed = new Map<number, string>();
      const save = (item: RewrapItem<number>, sealed: SealedEnvelope) => void changed.set(item.id, formatEnvelopeLine(parsed[item.id - 1]!, sealed));
      let last: RewrapProgress<number> | undefined;
      let stop: unknown;
      let failures: readonly { id: number; code: KeywardErrorCode }[] = [];
      try {
        const summary = await envelope.rewrapAll(items, { save, concurrency, onProgress: (p) => ((last = p), progress(p)) });
        failures = summary.failures;
      } catch (err) {
        stop = err;
      }
      for (const [id, line] of changed) file.lines[id - 1] = line;
      const written = !dryRun && changed.size > 0 && (await replaceFile(path, joinLines(file), original).catch((err: unknown) => Promise.reject(fileError(err, path))));
      const lost = !dryRun && changed.size > 0 && !written;
      const all = [...malformed, ...failures].sort((a, b) => a.id - b.id);
      context.output.out(
        `${JSON.stringify({
          file: path,
          currentVersion,
          ...counts(last),
          failures: all.map(({ id, code }) => ({ line: id, ...recordId(parsed[id - 1]!), code })),
          written,
          dryRun,
          ...(stop === undefined ? {} : { stoppedBy: KeywardError.is(stop) ? stop.code : 'ERROR' }),
        })}\n`,
      );
      for (const { id, code } of all) context.output.err(`keyward: ${code}: line ${id} was not re-wrapped (kept as it is)\n`);
      if (lost) context.output.err(`keyward: ENVELOPE_FILE_CHANGED: ${path} changed while it was re-wrapped; nothing was written (run again)\n`);
      if (stop !== undefined) throw stop;
      return all.length > 0 || lost ? 1 : 0;
    });
  },
};

