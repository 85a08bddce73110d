import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import TransportStream from 'winston-transport';
import { AUDIT_GENESIS, unsealAuditLine } from './audit-record.js';

const MESSAGE = Symbol.for('message');

/**
 * The default audit transport: appends each record as one line to a file opened for appending
 * with mode 0600 (its folder is created), acknowledges a record (`logged`) only once the write
 * has returned, and fsyncs when it ends, so `close()` loses nothing.
 *
 * @example new AuditFileTransport({ filename: 'logs/audit.jsonl' })
 */
export class AuditFileTransport extends TransportStream {
  readonly filename: string;
  #handle: Promise<FileHandle> | undefined;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: { filename: string }) {
    // A deep buffer: records that arrive while a write is running go out together in the next one
    // (with the default 16, a busy service writes 16 records per file write and falls behind).
    super({ level: 'audit', highWaterMark: 4096 } as TransportStream.TransportStreamOptions);
    this.filename = options.filename;
  }

  #file(): Promise<FileHandle> {
    this.#handle ??= (async () => {
      await mkdir(dirname(this.filename), { recursive: true, mode: 0o700 });
      const file = await open(this.filename, 'a+', 0o600);
      // A line torn by a crash stays on its own line (the verifier names it) instead of swallowing the next record.
      const { size } = await file.stat();
      if (size > 0) {
        const { buffer } = await file.read(Buffer.alloc(1), 0, 1, size - 1);
        if (buffer[0] !== 0x0a) await file.write('\n');
      }
      return file;
    })();
    return this.#handle;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.#append([info], next);
  }

  /** Records buffered while a write was running arrive together: one write for all of them. */
  override logv(chunks: { chunk: Record<string | symbol, unknown> }[], next: () => void): void {
    this.#append(
      chunks.map((c) => c.chunk),
      next,
    );
  }

  // One write at a time, in order (concurrent appends may land out of order).
  #append(infos: Record<string | symbol, unknown>[], next: () => void): void {
    const text = infos.map((info) => `${String(info[MESSAGE])}\n`).join('');
    const written = this.#writes.then(() => this.#file()).then((file) => file.write(text));
    this.#writes = written.catch(() => undefined);
    written.then(
      () => {
        for (const info of infos) this.emit('logged', info);
        next();
      },
      (err: unknown) => {
        this.emit('error', err);
        next();
      },
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    // After the writes in flight (with _writev, the stream may end before they are done).
    this.#writes
      .then(async () => {
        if (this.#handle === undefined) return;
        const file = await this.#handle;
        await file.sync();
        await file.close();
      })
      .then(() => callback(), (err: Error) => callback(err));
  }
}

/** Where a trail file's chain stands: the last record's `seq` and `hash` (0 and genesis for an empty or missing file). */
export async function readAuditTail(filename: string): Promise<{ seq: number; hash: string }> {
  let file: FileHandle;
  try {
    file = await open(filename, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, hash: AUDIT_GENESIS };
    throw err;
  }
  try {
    const { size } = await file.stat();
    // Records are short; the last complete line is within the last 64 KiB.
    const length = Math.min(size, 64 * 1024);
    const { buffer } = await file.read(Buffer.alloc(length), 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const sealed = unsealAuditLine(lines[i]!);
      if (sealed === undefined) continue; // a torn last line from a crash: the verifier will name it
      const seq = (JSON.parse(sealed.text) as { seq?: unknown }).seq;
      if (typeof seq === 'number') return { seq, hash: sealed.hash };
    }
    return { seq: 0, hash: AUDIT_GENESIS };
  } finally {
    await file.close();
  }
}
