/** Where a run reads its environment and writes its output; `main()` defaults to the process's own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
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

  #scrub(text: string): string {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join('[redacted]');
    return result;
  }
}
