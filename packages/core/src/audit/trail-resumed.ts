import { open, type FileHandle } from 'node:fs/promises';
import { KeywardError } from '../errors/index.js';
import { AUDIT_GENESIS, chainHash, readAuditLine } from './audit-record.js';

/** The event of the record a trail writes first when it resumes on a bad end of file. */
export const TRAIL_RESUMED = 'trail.resumed';

/**
 * Why a trail did not continue from its file's last line:
 * - `malformed`: the last line is not a sealed record (a torn write, a crafted line);
 * - `bad-seal`: its seal does not hold under this key (an edit, a forged line, another key).
 */
export type ResumeReason = 'malformed' | 'bad-seal';

/** Where a trail resumes: the last record whose seal holds, and why the lines after it (if any) were not adopted. */
export interface ResumePoint {
  readonly seq: number;
  readonly hash: string;
  /** Set when the file's last line was not adopted: the trail writes a `trail.resumed` record first. */
  readonly problem?: ResumeReason;
}

/** Chunks read backwards from the end: records are short, so the last one is usually in the first chunk. */
const CHUNK = 64 * 1024;

/**
 * Where a trail file's chain stands: its last line when that line is a sealed record whose seal
 * holds under `chainKey` (0 and genesis for an empty or missing file). Otherwise the last record
 * further up whose seal holds (or genesis), with the reason; a line's content never leaves here.
 */
export async function readAuditTail(filename: string, chainKey: Buffer): Promise<ResumePoint> {
  let file: FileHandle;
  try {
    file = await open(filename, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, hash: AUDIT_GENESIS };
    throw auditFileError(err, filename);
  }
  try {
    let problem: ResumeReason | undefined;
    for await (const line of linesFromEnd(file)) {
      if (line.trim() === '') continue;
      const found = checkTail(line, chainKey);
      if (typeof found !== 'string') return { ...found, ...(problem === undefined ? {} : { problem }) };
      problem ??= found;
    }
    return { seq: 0, hash: AUDIT_GENESIS, ...(problem === undefined ? {} : { problem }) };
  } catch (err) {
    throw auditFileError(err, filename);
  } finally {
    await file.close();
  }
}

/**
 * Why the audit file could not be read at start, with a stable code and the file's name (never
 * its content): PERMISSION_DENIED for EACCES/EPERM, CONFIG_INVALID for a folder, else
 * AUDIT_UNAVAILABLE with the errno code.
 */
export function auditFileError(err: unknown, filename: string): KeywardError {
  if (err instanceof KeywardError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return new KeywardError('PERMISSION_DENIED', `the audit file ${filename} cannot be read (${code})`, { cause: err });
  if (code === 'EISDIR') return new KeywardError('CONFIG_INVALID', `the audit file ${filename} is a folder: give the path of a file`, { cause: err });
  return new KeywardError('AUDIT_UNAVAILABLE', `the audit file ${filename} cannot be read (${code ?? 'unknown error'})`, { cause: err });
}

function checkTail(line: string, chainKey: Buffer): { seq: number; hash: string } | ResumeReason {
  const read = readAuditLine(line.replace(/\r$/, ''));
  if (read === undefined) return 'malformed';
  if (chainHash(read.text, chainKey) !== read.hash) return 'bad-seal';
  return { seq: read.seq, hash: read.hash };
}

/** The file's lines, last first (read in chunks from the end). */
async function* linesFromEnd(file: FileHandle): AsyncGenerator<string> {
  let position = (await file.stat()).size;
  let rest = Buffer.alloc(0);
  while (position > 0) {
    const length = Math.min(CHUNK, position);
    position -= length;
    const { buffer } = await file.read(Buffer.alloc(length), 0, length, position);
    let data = Buffer.concat([buffer, rest]);
    // Split on bytes, not text: a chunk boundary may fall inside a multi-byte character.
    let end = data.length;
    for (let i = data.length - 1; i >= 0; i -= 1) {
      if (data[i] !== 0x0a) continue;
      yield data.subarray(i + 1, end).toString('utf8');
      end = i;
    }
    rest = data.subarray(0, end);
    data = Buffer.alloc(0);
  }
  yield rest.toString('utf8');
}

/** What a `trail.resumed` record says, read back defensively (its details are only trusted as far as their shape). */
export function readResumeNote(details: unknown): { reason: string; previousHead: string | undefined } {
  const { reason, previousHead } = (typeof details === 'object' && details !== null ? details : {}) as { reason?: unknown; previousHead?: unknown };
  return {
    reason: typeof reason === 'string' && /^[a-z-]{1,32}$/.test(reason) ? reason : 'unknown',
    previousHead: typeof previousHead === 'string' && /^\d+:[0-9a-f]{64}$/.test(previousHead) ? previousHead : undefined,
  };
}
