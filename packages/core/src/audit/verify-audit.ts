import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { deriveAuditKeys, type AuditKey } from './audit-keys.js';
import { AUDIT_GENESIS, chainHash, unsealAuditLine } from './audit-record.js';

/** Why verification stopped: the first line that does not continue the chain. */
export interface AuditChainBreak {
  /** 1-based line number in the file. */
  readonly line: number;
  /**
   * - `malformed`: not a sealed record (a torn write, or hand-edited beyond parsing);
   * - `edited`: its hash does not match its content (changed after it was written);
   * - `deleted`: records are missing before it (its `seq` jumps ahead);
   * - `reordered`: it comes before records it should follow (its `seq` goes back, or `prev` names another record);
   */
  readonly problem: 'malformed' | 'edited' | 'deleted' | 'reordered';
  readonly message: string;
  /** The record's `seq`, when it could be read. */
  readonly seq?: number;
}

/** What `verifyAuditFile()` found: whether the chain holds, how far, and where it broke. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Records checked and found chained (all of them when `ok`). */
  readonly records: number;
  /** `seq` and `hash` of the last good record: anchor it elsewhere to detect truncation later. */
  readonly head: { readonly seq: number; readonly hash: string };
  readonly break?: AuditChainBreak;
}

/**
 * Checks a trail file record by record: each line's HMAC under the chain key, `seq` counting
 * up from 1 and `prev` naming the record before. Reports the first edited, deleted, reordered or
 * malformed record. (Records cut off at the end leave no gap: compare `head` with a copy kept
 * elsewhere to catch that.)
 *
 * @example
 * const result = await verifyAuditFile('logs/audit.jsonl', auditKey);
 * if (!result.ok) console.error(`line ${result.break.line}: ${result.break.problem}`);
 */
export async function verifyAuditFile(path: string, key: AuditKey): Promise<AuditVerification> {
  const { chain } = deriveAuditKeys(key);
  let seq = 0;
  let prev = AUDIT_GENESIS;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      const found = check(line, lineNo, seq, prev, chain);
      if ('problem' in found) {
        // A jump ahead is a deletion unless the missing record turns up later in the file.
        const later = found.problem === 'deleted' ? await lineOfSeq(path, seq + 1, lineNo) : undefined;
        const reported: AuditChainBreak =
          later === undefined ? found : { ...found, problem: 'reordered', message: `record ${seq + 1} was moved to line ${later}, after record ${found.seq}` };
        return { ok: false, records: seq, head: { seq, hash: prev }, break: reported };
      }
      seq = found.seq;
      prev = found.hash;
    }
  } finally {
    lines.close();
  }
  return { ok: true, records: seq, head: { seq, hash: prev } };
}

function check(line: string, lineNo: number, seq: number, prev: string, chain: Buffer): AuditChainBreak | { seq: number; hash: string } {
  const broken = (problem: AuditChainBreak['problem'], message: string, at?: number): AuditChainBreak => ({
    line: lineNo,
    problem,
    message,
    ...(at === undefined ? {} : { seq: at }),
  });
  const sealed = unsealAuditLine(line);
  let body: { seq?: unknown; prev?: unknown } | undefined;
  try {
    body = sealed === undefined ? undefined : (JSON.parse(sealed.text) as { seq?: unknown; prev?: unknown });
  } catch {
    body = undefined;
  }
  if (sealed === undefined || body === undefined || typeof body.seq !== 'number' || typeof body.prev !== 'string') {
    return broken('malformed', 'not a sealed audit record (torn write or hand edit)');
  }
  const at = body.seq;
  if (chainHash(sealed.text, chain) !== sealed.hash) return broken('edited', `record ${at} was changed after it was written (its hash does not match)`, at);
  if (at > seq + 1) return broken('deleted', `records ${seq + 1}..${at - 1} are missing before record ${at}`, at);
  if (at <= seq) return broken('reordered', `record ${at} comes after record ${seq}`, at);
  if (body.prev !== prev) return broken('reordered', `record ${at} does not follow the record before it (its prev names another record)`, at);
  return { seq: at, hash: sealed.hash };
}

/** The line (after `after`) whose record has `seq`, if any. */
async function lineOfSeq(path: string, seq: number, after: number): Promise<number | undefined> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (lineNo <= after) continue;
      const sealed = unsealAuditLine(line);
      if (sealed === undefined) continue;
      try {
        if ((JSON.parse(sealed.text) as { seq?: unknown }).seq === seq) return lineNo;
      } catch {
        // malformed lines cannot be the one sought
      }
    }
    return undefined;
  } finally {
    lines.close();
  }
}
