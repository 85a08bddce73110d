import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { deriveAuditKeys, type AuditKey } from './audit-keys.js';
import { AUDIT_GENESIS, chainHash, readAuditLine } from './audit-record.js';
import { readResumeNote, TRAIL_RESUMED } from './trail-resumed.js';

/**
 * A place where the chain does not hold (one line, or a run of consecutive lines with the same problem).
 *
 * @example
 * for (const b of result.breaks) console.error(`line ${b.line}${b.endLine ? `..${b.endLine}` : ''}: ${b.problem}: ${b.message}`);
 */
export interface AuditChainBreak {
  /** 1-based line number in the file (the first line of a run). */
  readonly line: number;
  /** The last line of a run of consecutive `malformed` or `edited` lines, when the run is longer than one line. */
  readonly endLine?: number;
  /**
   * - `malformed`: not a sealed record (a torn write, or hand-edited beyond parsing);
   * - `edited`: its hash does not match its content (changed after it was written, or another key);
   * - `deleted`: records are missing before it (its `seq` jumps ahead);
   * - `reordered`: it comes before records it should follow (its `seq` goes back, or `prev` names another record);
   * - `resumed`: a `trail.resumed` record: the service restarted on a bad end of file and started
   *   a new segment here (the message gives its reason and the head it resumed after).
   */
  readonly problem: 'malformed' | 'edited' | 'deleted' | 'reordered' | 'resumed';
  readonly message: string;
  /** The record's `seq`, when it could be read (the first record's, for a run). */
  readonly seq?: number;
}

/**
 * Whether a head noted earlier (`expectHead`) is still in the file's chain.
 *
 * @example
 * if (result.keptHead?.found === false) alert(`audit records cut off: ${result.keptHead.message}`);
 */
export interface AuditKeptHead {
  readonly seq: number;
  readonly hash: string;
  /** True when a record with this `seq` and `hash` is in the chain (its seal holds). */
  readonly found: boolean;
  /** The line that holds it, when found. */
  readonly line?: number;
  readonly message: string;
}

/**
 * What `verifyAuditFile()` found: whether the chain holds, every place where it breaks, and its head.
 *
 * @example
 * const { ok, head, breaks } = await verifyAuditFile('logs/audit.jsonl', auditKey);
 * if (ok) await saveElsewhere(`${head.seq}:${head.hash}`);
 */
export interface AuditVerification {
  /** No break, and the kept head (when one was given) is in the chain. */
  readonly ok: boolean;
  /** Records in the chain: their seal holds and they are in `seq` order (a record after a break counts: the check resumes there). */
  readonly records: number;
  /** `seq` and `hash` of the last record in the chain: keep it elsewhere and pass it as `expectHead` later, to prove nothing was cut off. */
  readonly head: { readonly seq: number; readonly hash: string };
  /** Every break, in file order (empty when the chain holds). */
  readonly breaks: readonly AuditChainBreak[];
  /** The first break (`breaks[0]`), kept for callers written before `breaks`. */
  readonly break?: AuditChainBreak;
  /** Present when `expectHead` was given. */
  readonly keptHead?: AuditKeptHead;
}

/**
 * What `verifyAuditFile()` may check besides the chain.
 *
 * @example
 * await verifyAuditFile('logs/audit.jsonl', auditKey, { expectHead: { seq: 1200, hash: noted } });
 */
export interface VerifyAuditOptions {
  /**
   * A head noted earlier (from a previous verification, or a record the service reported): the
   * file must still hold that record in its chain. Records cut off at the end leave no gap in
   * what remains, so this is the only way to prove that none were.
   */
  readonly expectHead?: { readonly seq: number; readonly hash: string };
}

/** How many gaps are looked up further in the file (to tell a move from a deletion); beyond, a gap is reported as such. */
const MAX_LOOKUPS = 16;

/**
 * Checks a trail file record by record: each line's HMAC under the chain key, `seq` counting
 * up from 1 and `prev` naming the record before. Reports every edited, deleted, reordered or
 * malformed record and every restart on a bad end of file (`trail.resumed`): after a break the
 * check resumes at the next record whose seal holds, so one torn line does not hide the rest.
 * Records cut off at the end leave no gap: pass a head kept elsewhere as `expectHead` to catch that.
 *
 * @example
 * const result = await verifyAuditFile('logs/audit.jsonl', auditKey);
 * for (const b of result.breaks) console.error(`line ${b.line}: ${b.problem}: ${b.message}`);
 */
export async function verifyAuditFile(path: string, key: AuditKey, options: VerifyAuditOptions = {}): Promise<AuditVerification> {
  const { chain } = deriveAuditKeys(key);
  const kept = options.expectHead;
  let head = { seq: 0, hash: AUDIT_GENESIS };
  let records = 0;
  /** Lines since the last record in the chain that could not be read or whose seal fails: a gap that size is theirs. */
  let unreadable = 0;
  const breaks: Mutable<AuditChainBreak>[] = [];
  /** The break a following line of the same problem extends (reset by any record whose seal holds). */
  let run: Mutable<AuditChainBreak> | undefined;
  /** Lines already named by a "record N was moved to line L" break. */
  const moved = new Set<number>();
  let lookups = 0;
  let keptAt: number | undefined;
  let keptOther: number | undefined;

  const badLine = (lineNo: number, problem: 'malformed' | 'edited', seq: number | undefined) => {
    unreadable += 1;
    if (run !== undefined && run.problem === problem) {
      run.endLine = lineNo;
      const count = lineNo - run.line + 1;
      run.message =
        problem === 'malformed'
          ? `${count} lines are not sealed audit records (torn writes or hand edits)`
          : `${count} lines were changed after they were written, or sealed with another key (their hashes do not match)`;
      return;
    }
    run = {
      line: lineNo,
      problem,
      message: problem === 'malformed' ? 'not a sealed audit record (torn write or hand edit)' : `record ${seq} was changed after it was written (its hash does not match)`,
      ...(seq === undefined ? {} : { seq }),
    };
    breaks.push(run);
  };

  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      const read = readAuditLine(line);
      if (read === undefined) {
        badLine(lineNo, 'malformed', undefined);
        continue;
      }
      if (chainHash(read.text, chain) !== read.hash) {
        badLine(lineNo, 'edited', read.seq);
        continue;
      }
      run = undefined;
      const at = read.seq;
      const broken = (problem: AuditChainBreak['problem'], message: string) => breaks.push({ line: lineNo, problem, message, seq: at });
      const resumed = read.event === TRAIL_RESUMED;
      if (at <= head.seq) {
        // Already named where the record should have been; a resumed record starts a segment of its own.
        if (!moved.has(lineNo)) broken('reordered', `record ${at} comes after record ${head.seq}`);
        if (!resumed) continue;
      } else if (at === head.seq + 1) {
        if (read.prev !== head.hash) broken('reordered', `record ${at} does not follow the record before it (its prev names another record)`);
      } else if (at - head.seq - 1 > unreadable) {
        // A jump ahead is a deletion unless the missing record turns up later in the file.
        const later = lookups < MAX_LOOKUPS ? await lineOfSeq(path, head.seq + 1, lineNo) : undefined;
        lookups += 1;
        if (later === undefined) {
          broken('deleted', `records ${head.seq + 1}..${at - 1} are missing before record ${at}`);
        } else {
          moved.add(later);
          broken('reordered', `record ${head.seq + 1} was moved to line ${later}, after record ${at}`);
        }
      }
      if (resumed) {
        const note = readResumeNote(read.details);
        broken('resumed', `the service restarted on a bad end of file (${note.reason}) and started a new segment after ${note.previousHead ?? 'no readable record'}`);
      }
      head = { seq: at, hash: read.hash };
      records += 1;
      unreadable = 0;
      if (kept !== undefined && at === kept.seq) {
        if (read.hash === kept.hash) keptAt = lineNo;
        else keptOther ??= lineNo;
      }
    }
  } finally {
    lines.close();
  }
  const keptHead = kept === undefined ? undefined : describeKeptHead(kept, keptAt, keptOther, head.seq);
  return {
    ok: breaks.length === 0 && (keptHead === undefined || keptHead.found),
    records,
    head,
    breaks,
    ...(breaks[0] === undefined ? {} : { break: breaks[0] }),
    ...(keptHead === undefined ? {} : { keptHead }),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function describeKeptHead(kept: { seq: number; hash: string }, at: number | undefined, other: number | undefined, last: number): AuditKeptHead {
  const base = { seq: kept.seq, hash: kept.hash };
  if (at !== undefined) return { ...base, found: true, line: at, message: `record ${kept.seq} is in the chain at line ${at}` };
  const message =
    other !== undefined
      ? `record ${kept.seq} at line ${other} is another record: records were cut off and their seq written again`
      : last < kept.seq
        ? `the file ends at record ${last}: the records after it were cut off`
        : `record ${kept.seq} is not in the chain (see the breaks)`;
  return { ...base, found: false, message };
}

/** The line (after `after`) whose record has `seq`, if any. */
async function lineOfSeq(path: string, seq: number, after: number): Promise<number | undefined> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (lineNo <= after) continue;
      if (readAuditLine(line)?.seq === seq) return lineNo;
    }
    return undefined;
  } finally {
    lines.close();
  }
}
