import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import TransportStream from 'winston-transport';

const MESSAGE = Symbol.for('message');

/**
 * On an `error` a transport emits: the info objects of the records it failed to write. The trail
 * fails those records only (without it, every record waiting on the transport).
 */
export const FAILED_RECORDS = Symbol.for('keyward.audit.failedRecords');

/**
 * The default audit transport: appends each record as one line to a file opened for appending
 * with mode 0600 (an existing file is made 0600; its folder is created), acknowledges a record
 * (`logged`) only once its whole line is written, and fsyncs when it ends, so `close()` loses
 * nothing. A failed open is tried again by the next write; a write that stops short (disk full)
 * keeps the records whose lines are complete, cuts off the torn rest, and fails those records.
 *
 * @example new AuditFileTransport({ filename: 'logs/audit.jsonl' })
 */
export class AuditFileTransport extends TransportStream {
  readonly filename: string;
  #handle: Promise<FileHandle> | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  // The file's size as this transport's own writes left it (they run one at a time): a write
  // needs no stat of its own, only a failed one compares it with the file.
  #size = 0;

  constructor(options: { filename: string }) {
    // A deep buffer: records that arrive while a write is running go out together in the next one
    // (with the default 16, a busy service writes 16 records per file write and falls behind).
    super({ level: 'audit', highWaterMark: 4096 } as TransportStream.TransportStreamOptions);
    this.filename = options.filename;
  }

  #file(): Promise<FileHandle> {
    if (this.#handle !== undefined) return this.#handle;
    const opening = this.#open();
    this.#handle = opening;
    // A failed open is not kept: the folder may come back, the disk may have room again.
    opening.catch(() => {
      if (this.#handle === opening) this.#handle = undefined;
    });
    return opening;
  }

  async #open(): Promise<FileHandle> {
    await mkdir(dirname(this.filename), { recursive: true, mode: 0o700 });
    const file = await open(this.filename, 'a+', 0o600);
    try {
      // The mode given to open() applies only to a file it creates: an existing one keeps its own.
      await file.chmod(0o600).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM') throw err;
        process.emitWarning(`the audit file ${this.filename} is not owned by this process: its mode could not be set to 0600`, { code: 'KEYWARD_AUDIT_FILE_MODE' });
      });
      // A line torn by a crash stays on its own line (the verifier names it) instead of swallowing the next record.
      const { size } = await file.stat();
      this.#size = size;
      if (size > 0) {
        const { buffer } = await file.read(Buffer.alloc(1), 0, 1, size - 1);
        if (buffer[0] !== 0x0a) {
          await writeAll(file, Buffer.from('\n'));
          this.#size += 1;
        }
      }
      return file;
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
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
    const lines = infos.map((info) => `${String(info[MESSAGE])}\n`);
    const written = this.#writes.then(() => this.#write(lines));
    this.#writes = written;
    void written.then(({ complete, error }) => {
      for (const info of infos.slice(0, complete)) this.emit('logged', info);
      if (error !== undefined) this.emit('error', Object.assign(toError(error), { [FAILED_RECORDS]: infos.slice(complete) }));
      next();
    });
  }

  /** Writes the lines; on a failure, how many of them are complete in the file (never a torn one before a later record). */
  async #write(lines: string[]): Promise<{ complete: number; error?: unknown }> {
    let file: FileHandle;
    try {
      file = await this.#file();
    } catch (error) {
      return { complete: 0, error };
    }
    const data = Buffer.from(lines.length === 1 ? lines[0]! : lines.join(''), 'utf8');
    const before = this.#size;
    let done = 0;
    try {
      await writeAll(file, data, (n) => (done = n));
      this.#size += data.length;
      return { complete: lines.length };
    } catch (error) {
      let complete = 0;
      let keep = 0;
      while (complete < lines.length) {
        const bytes = Buffer.byteLength(lines[complete]!, 'utf8');
        if (keep + bytes > done) break;
        keep += bytes;
        complete += 1;
      }
      if (done > keep) {
        // Cut the torn line off, unless the file is not as this transport left it plus this write
        // (another writer: leave it, the next open puts a newline after whatever is there).
        const now = await file.stat().catch(() => undefined);
        if (now?.size === before + done) await file.truncate(before + keep).catch(() => {});
      }
      // Opened again by the next write, which checks the end of the file.
      this.#handle = undefined;
      await file.close().catch(() => {});
      return { complete, error };
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    // After the writes in flight (with _writev, the stream may end before they are done).
    this.#writes
      .then(async () => {
        const file = await this.#handle?.catch(() => undefined);
        if (file === undefined) return;
        await file.sync();
        await file.close();
      })
      .then(() => callback(), (err: Error) => callback(err));
  }
}

/** Writes all of `data`, write after write (a write may take only part of it); `progress` hears the bytes written so far. */
async function writeAll(file: FileHandle, data: Buffer, progress: (done: number) => void = () => {}): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done);
    if (bytesWritten <= 0) throw Object.assign(new Error('the audit file took no bytes of a write'), { code: 'EIO' });
    done += bytesWritten;
    progress(done);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
