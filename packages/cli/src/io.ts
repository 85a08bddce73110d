import { KeywardError } from '@keyward/core';

/** Where a run reads its environment and writes its output; `main()` defaults to the process's own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /**
   * What commands that take input read (`keyward envelope encrypt` its plaintext, `decrypt` its
   * envelope): a Readable such as `process.stdin` (the default of `main()`), or any async iterable
   * of chunks. None: empty input.
   */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
}

/**
 * Everything on the run's stdin, up to `maxBytes` (`CONFIG_INVALID` beyond, naming `what`, never
 * quoting it). Secrets come this way rather than as arguments, which every user's `ps` shows.
 */
export async function readStdin(io: CliIo, what: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin ?? []) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.length;
    if (size > maxBytes) {
      for (const c of chunks) c.fill(0);
      bytes.fill(0);
      throw new KeywardError('CONFIG_INVALID', `${what} on stdin is over ${maxBytes} bytes`);
    }
    chunks.push(bytes);
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

/** A mistake in the command line itself (unknown command or flag, missing option): exit 2 with usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The usage text to show with it. */
    readonly usage: string,
  ) {
    super(message);
  }
}

/**
 * Output that scrubs every registered secret (pepper, Vault token) before writing, as a last
 * line of defence: the commands never print them, and this makes sure a backend's message cannot.
 */
export class Output {
  readonly #io: CliIo;
  readonly #secrets = new Set<string>();

  constructor(io: CliIo) {
    this.#io = io;
  }

  /**
   * Registers a value that must never be printed. Values shorter than 8 characters are ignored:
   * scrubbing a short word (a dev token `root`) would mangle ordinary output, and real tokens,
   * peppers and AWS secret keys are far longer.
   */
  hide(value: string | undefined): void {
    if (value !== undefined && value.length >= 8) this.#secrets.add(value);
  }

  out(text: string): void {
    this.#io.stdout.write(this.#scrub(text));
  }

  err(text: string): void {
    this.#io.stderr.write(this.#scrub(text));
  }

  /** Writes the one new API key, unscrubbed, on stdout. */
  key(key: string): void {
    this.#io.stdout.write(`${key}\n`);
  }

  /** Writes the value a command exists to show (a decrypted plaintext), unscrubbed and as it is, on stdout. */
  reveal(text: string): void {
    this.#io.stdout.write(text);
  }

  #scrub(text: string): string {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join('[redacted]');
    return result;
  }
}
