import { KeywardError, parseEnvelope, type EncryptionContext, type KeywardErrorCode, type KekReference, type SealedEnvelope } from '@keyward/core';
import { randomBytes } from 'node:crypto';
import { chown, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/**
 * One line of an envelope file: a bare envelope (compact `kw1.…` or its JSON form), a record
 * `{"id": …, "envelope": …, "context": {…}}`, a blank line, or something else (kept as it is and
 * reported). Nothing here ever quotes a line: a pasted plaintext may sit in one.
 */
export type EnvelopeLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'bare'; readonly envelope: SealedEnvelope }
  | { readonly kind: 'record'; readonly record: Readonly<Record<string, unknown>>; readonly envelope: SealedEnvelope; readonly context: EncryptionContext | undefined }
  | { readonly kind: 'malformed'; readonly code: KeywardErrorCode; readonly record?: Readonly<Record<string, unknown>> };

/** Reads one line (without its line ending). The envelope itself is checked later, by whoever opens it. */
export function parseEnvelopeLine(text: string): EnvelopeLine {
  const line = text.trim();
  if (line === '') return { kind: 'blank' };
  if (!line.startsWith('{')) return { kind: 'bare', envelope: line };
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { kind: 'malformed', code: 'ENVELOPE_MALFORMED' };
  }
  if (!isRecord(doc)) return { kind: 'malformed', code: 'ENVELOPE_MALFORMED' };
  if (doc['format'] !== undefined) return { kind: 'bare', envelope: doc as unknown as SealedEnvelope };
  const envelope = doc['envelope'];
  const context = doc['context'];
  if (typeof envelope !== 'string' && !isRecord(envelope)) return { kind: 'malformed', code: 'ENVELOPE_MALFORMED', record: doc };
  if (context !== undefined && !(isRecord(context) && Object.values(context).every((v) => typeof v === 'string'))) {
    return { kind: 'malformed', code: 'ENVELOPE_MALFORMED', record: doc };
  }
  return { kind: 'record', record: doc, envelope: envelope as SealedEnvelope, context: context as EncryptionContext | undefined };
}

/** The line again with its envelope replaced, in the shape it came in (a record keeps its other fields and their order). */
export function formatEnvelopeLine(line: EnvelopeLine, envelope: SealedEnvelope): string {
  const text = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
  return line.kind === 'record' ? JSON.stringify({ ...line.record, envelope }) : text;
}

/** The `id` of a record line, to name it in reports besides its line number. */
export function recordId(line: EnvelopeLine): { id?: unknown } {
  const id = line.kind === 'record' || line.kind === 'malformed' ? line.record?.['id'] : undefined;
  return id === undefined ? {} : { id };
}

/** Which KEK version wrapped a line's envelope, without any key; or why that cannot be told. */
export function kekOfLine(line: EnvelopeLine): KekReference | { readonly code: KeywardErrorCode } | undefined {
  if (line.kind === 'blank') return undefined;
  if (line.kind === 'malformed') return { code: line.code };
  try {
    return parseEnvelope(line.envelope).kek;
  } catch (err) {
    if (KeywardError.is(err)) return { code: err.code };
    throw err;
  }
}

/** The lines of a stream of chunks (a file, stdin), without their `\n` or `\r\n`. */
export async function* linesOf(source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) yield line.replace(/\r$/, '');
  }
  pending += decoder.end();
  if (pending !== '') yield pending.replace(/\r$/, '');
}

/** A file's text as lines, and what it takes to write it back the same: its line endings. */
export interface LineFile {
  readonly lines: string[];
  readonly crlf: readonly boolean[];
  readonly finalNewline: boolean;
}

export function splitLines(text: string): LineFile {
  const lines = text.split('\n');
  const finalNewline = lines.length > 1 && lines.at(-1) === '';
  if (finalNewline || text === '') lines.pop();
  const crlf = lines.map((l) => l.endsWith('\r'));
  return { lines: lines.map((l, i) => (crlf[i] ? l.slice(0, -1) : l)), crlf, finalNewline };
}

export function joinLines(file: LineFile): string {
  return file.lines.map((l, i) => (file.crlf[i] ? `${l}\r` : l)).join('\n') + (file.finalNewline ? '\n' : '');
}

/**
 * Replaces `path` with `text` so that a crash leaves the old file or the new one, never half of
 * each: a temporary file in the same folder with the old file's mode (and owner, where allowed),
 * fsync, then a rename over it (through symlinks, to the file they point at), then the folder's
 * fsync. `false`, with nothing written, when the file no longer holds `original`: someone else
 * wrote it meanwhile, and their change must not be lost.
 */
export async function replaceFile(path: string, text: string, original: Buffer): Promise<boolean> {
  const target = await realpath(path);
  const info = await stat(target);
  const mode = info.mode & 0o7777;
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.chmod(mode); // open() applied the umask
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Keeping the owner only works for root (or the same owner); otherwise the runner owns the new file.
    await chown(temp, info.uid, info.gid).catch(() => undefined);
    if (!(await readFile(target)).equals(original)) {
      await rm(temp, { force: true });
      return false;
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const folder = await open(dirname(target), 'r');
  try {
    await folder.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename has happened either way.
  } finally {
    await folder.close();
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
