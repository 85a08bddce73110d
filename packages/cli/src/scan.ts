import { findKeywardApiKeys } from '@keyward/secretlint-rule-keyward';
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import type { Command, CommandContext } from './commands.js';
import { UsageError } from './io.js';

const run = promisify(execFile);

/** Larger files are skipped: keys live in config and source, not in data dumps. */
const MAX_FILE_BYTES = 5 * 1024 * 1024;
/** Folders never walked into: installed packages and git's own objects. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);
/** As git decides: a NUL byte in the first 8000 bytes makes a file binary. */
const BINARY_SNIFF_BYTES = 8000;

/** One file to scan: the path to show, and how to read its bytes. */
interface ScanTarget {
  readonly shown: string;
  read(): Promise<Buffer | undefined>;
}

/**
 * The `keyward scan` command (not in a group): finds leaked Keyward API keys by their shape and
 * checksum, as `@keyward/secretlint-rule-keyward` does, for a pre-commit hook or CI.
 *
 * @example
 * // keyward scan --staged          (.git/hooks/pre-commit)
 * // keyward scan src config .env   (CI)
 * const command = scanCommand;
 */
export const scanCommand: Command = {
  summary: 'Find leaked Keyward API keys in files and folders: exit 1 when it finds any',
  synopsis: '[paths...] [--staged]',
  help: `Arguments:
  [paths...]   files and folders to scan (default: the current folder); folders are walked,
               skipping node_modules, .git, symbolic links, binary files and files over 5 MB

Options:
  --staged     scan what is staged for the next commit (git diff --cached), for a pre-commit hook

Prints one line per key whose checksum holds, never the key:
  path:line:column: Keyward API key <keyId> (env <env>)
Exit 0 when it found none, 1 when it found any (revoke each: keyward api-keys revoke --key-id ID),
2 for a usage error (a path that does not exist, --staged outside a git repository).`,
  options: { staged: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  positionals: { min: 0, max: Number.POSITIVE_INFINITY, names: '[paths...]' },
  async run(context) {
    const targets = context.values['staged'] === true ? await stagedFiles(context) : await filesUnder(context);
    let found = 0;
    for (const target of targets) {
      const bytes = await target.read();
      if (bytes === undefined || isBinary(bytes)) continue;
      const text = bytes.toString('utf8');
      const lines = lineStarts(text);
      for (const { keyId, env, start } of findKeywardApiKeys(text)) {
        const line = lineOf(lines, start);
        context.output.out(`${target.shown}:${line + 1}:${start - lines[line]! + 1}: Keyward API key ${keyId} (env ${env})\n`);
        found++;
      }
    }
    if (found > 0) context.output.err(`keyward: found ${found} Keyward API key${found === 1 ? '' : 's'}: revoke each (keyward api-keys revoke --key-id ID) and remove it\n`);
    return found > 0 ? 1 : 0;
  },
};

/** The files under the positionals (default: the current folder), in a stable order. */
async function filesUnder(context: CommandContext): Promise<ScanTarget[]> {
  const { io, positionals } = context;
  const targets: ScanTarget[] = [];
  for (const path of positionals.length === 0 ? ['.'] : positionals) {
    const absolute = resolve(io.cwd, path);
    let info;
    try {
      info = await stat(absolute);
    } catch {
      throw new UsageError(`no file or folder at ${shownPath(io.cwd, absolute)}`, context.usage);
    }
    if (info.isDirectory()) await walk(context, absolute, targets);
    else if (info.isFile()) targets.push(fileTarget(context, absolute, info.size));
  }
  return targets;
}

async function walk(context: CommandContext, folder: string, targets: ScanTarget[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    skipped(context, folder, err);
    return;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(folder, entry.name);
    // Symbolic links are not followed: a link can loop, or lead out of the tree being scanned.
    if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name)) await walk(context, path, targets);
    else if (entry.isFile()) targets.push(fileTarget(context, path));
  }
}

function fileTarget(context: CommandContext, path: string, size?: number): ScanTarget {
  return {
    shown: shownPath(context.io.cwd, path),
    async read() {
      try {
        if ((size ?? (await lstat(path)).size) > MAX_FILE_BYTES) return undefined;
        return await readFile(path);
      } catch (err) {
        skipped(context, path, err);
        return undefined;
      }
    },
  };
}

/** The files staged for the next commit, read from the index (what will be committed, not the working tree). */
async function stagedFiles(context: CommandContext): Promise<ScanTarget[]> {
  const { io, positionals } = context;
  if (positionals.length > 0) throw new UsageError('--staged scans what is staged; it takes no paths', context.usage);
  let top: string;
  let names: string[];
  try {
    top = (await run('git', ['rev-parse', '--show-toplevel'], { cwd: io.cwd, encoding: 'utf8' })).stdout.trim();
    const diff = await run('git', ['diff', '--cached', '--name-only', '--diff-filter=ACMR', '-z'], { cwd: io.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    names = diff.stdout.split('\0').filter((name) => name !== '');
  } catch {
    throw new UsageError(`--staged needs git and a git repository at ${io.cwd}`, context.usage);
  }
  return names.map((name) => ({
    shown: shownPath(io.cwd, join(top, name)),
    async read() {
      try {
        // `:path` is the index's copy, path relative to the top of the repository.
        return (await run('git', ['show', `:${name}`], { cwd: top, encoding: 'buffer', maxBuffer: MAX_FILE_BYTES })).stdout;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') skipped(context, join(top, name), err);
        return undefined;
      }
    },
  }));
}

function skipped(context: CommandContext, path: string, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  context.output.err(`keyward: skipped ${shownPath(context.io.cwd, path)}: cannot read it${typeof code === 'string' ? ` (${code})` : ''}\n`);
}

/** A path relative to the folder the command runs in, absolute when outside it. */
function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? path : rel;
}

function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/** The offset where each line starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The index of the line holding `offset` (binary search over `lineStarts`). */
function lineOf(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}
