import { readFile, writeFile } from 'node:fs/promises';
import { createAuditTrail, type AuditEntry, type AuditKey, type AuditRecord } from '@keyward/core';
import TransportStream from 'winston-transport';
// Internal to core (no app seals lines by hand); only `reseal` needs them, to forge what a key holder could.
import { deriveAuditKeys } from '../../core/src/audit/audit-keys.js';
import { sealAuditLine, unsealAuditLine } from '../../core/src/audit/audit-record.js';

const MESSAGE = Symbol.for('message');

/**
 * How a `ScriptedTransport` treats the records it receives:
 * - `ack`: acknowledges each (emits `logged`) on the next turn;
 * - `silent`: takes it (calls `next`) but never acknowledges it;
 * - `hold`: neither acknowledges nor takes the next one until `release()`;
 * - `error`: emits `error` for it (a sink that failed to write).
 */
export type TransportMode = 'ack' | 'silent' | 'hold' | 'error';

/** A winston transport whose behaviour a test switches at will; keeps every line it was given. */
export class ScriptedTransport extends TransportStream {
  mode: TransportMode;
  readonly lines: string[] = [];
  readonly #held: (() => void)[] = [];

  constructor(mode: TransportMode = 'ack') {
    super({ level: 'audit' });
    this.mode = mode;
  }

  /** Records held back in `hold` mode. */
  get held(): number {
    return this.#held.length;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.lines.push(String(info[MESSAGE]));
    const acknowledge = () => {
      this.emit('logged', info);
      next();
    };
    switch (this.mode) {
      case 'ack':
        setImmediate(acknowledge);
        return;
      case 'silent':
        next();
        return;
      case 'hold':
        this.#held.push(acknowledge);
        return;
      case 'error':
        setImmediate(() => {
          this.emit('error', new Error('the sink refused the write'));
          next();
        });
        return;
    }
  }

  /** Acknowledges every held record (and lets the next ones through). */
  release(): void {
    for (const acknowledge of this.#held.splice(0)) acknowledge();
  }
}

/** A minimal valid entry, numbered so that records tell apart. */
export function entry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    event: 'secret.read',
    actor: { type: 'service', id: 'billing' },
    outcome: 'success',
    details: { n, secret: 'database' },
    ...overrides,
  };
}

/** Writes `count` records with a real trail on `file` (appending, resumed), closes it, returns them. */
export async function writeTrail(file: string, key: AuditKey, count: number, from = 1): Promise<AuditRecord[]> {
  const trail = await createAuditTrail({ key, service: 'billing', file });
  try {
    const records: AuditRecord[] = [];
    for (let i = 0; i < count; i += 1) records.push(await trail.record(entry(from + i)));
    return records;
  } finally {
    await trail.close();
  }
}

/** The non-empty lines of a trail file. */
export async function readLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

/** Rewrites a trail file from its lines (each followed by a newline). */
export async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  await writeFile(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
}

/** A line's record re-sealed under `key` after `change` (what someone holding a key could forge). */
export function reseal(line: string, key: AuditKey, change: (body: Record<string, unknown>) => void): string {
  const sealed = unsealAuditLine(line);
  if (sealed === undefined) throw new Error('not a sealed line');
  const body = JSON.parse(sealed.text) as Record<string, unknown>;
  change(body);
  return sealAuditLine(body as unknown as Omit<AuditRecord, 'hash'>, deriveAuditKeys(key).chain).line;
}

/** The tamperings a verifier must catch, as edits of a file's lines (line numbers 1-based). */
export const tamper = {
  editOutcome: (lines: string[], at: number): string[] => lines.map((l, i) => (i === at - 1 ? l.replace('"outcome":"success"', '"outcome":"denied"') : l)),
  delete: (lines: string[], at: number): string[] => lines.filter((_l, i) => i !== at - 1),
  swap: (lines: string[], at: number): string[] => {
    const copy = [...lines];
    [copy[at - 1], copy[at]] = [copy[at]!, copy[at - 1]!];
    return copy;
  },
  moveToEnd: (lines: string[], at: number): string[] => [...lines.filter((_l, i) => i !== at - 1), lines[at - 1]!],
  truncate: (lines: string[], at: number): string[] => lines.map((l, i) => (i === at - 1 ? l.slice(0, Math.floor(l.length / 2)) : l)),
};
