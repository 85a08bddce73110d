import { isKeywardError } from '@keyward/core';
import { parseArgs } from 'node:util';
import { apiKeysCommands } from './api-keys.js';
import { auditCommands } from './audit.js';
import { envelopeCommands } from './envelope.js';
import { commandUsage, groupUsage, shortCommandUsage, shortGroupUsage, shortUsageOf, usageOf, type Command, type CommandGroup } from './commands.js';
import { Output, UsageError, type CliIo } from './io.js';
import { scanCommand } from './scan.js';
import { tlsCommands } from './tls.js';

// The command tables and their helpers are internal: the CLI's interface is its command line.
export type { CliConfigFile } from './config.js';
export type { CliIo } from './io.js';

/** The command groups, by name. */
const GROUPS: readonly CommandGroup[] = [apiKeysCommands, auditCommands, envelopeCommands, tlsCommands];

/** The commands outside any group (`keyward scan`), by name. */
const COMMANDS: Readonly<Record<string, Command>> = { scan: scanCommand };

function mainUsage(): string {
  const width = Math.max(...GROUPS.map((g) => g.name.length), ...Object.keys(COMMANDS).map((name) => name.length));
  return (
    [
      'Usage: keyward <group> <command> [options]',
      '',
      'Groups:',
      ...GROUPS.map((g) => `  ${g.name.padEnd(width)}  ${g.summary}`),
      '',
      'Commands:',
      ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
      '',
      "Run 'keyward <group> --help' for its commands.",
    ].join('\n') + '\n'
  );
}

/**
 * Runs the `keyward` command line and resolves to the exit code: 0 on success, 1 when the
 * operation failed (`keyward: <CODE>: <message>` on stderr), 2 for a usage error; `keyward scan`
 * exits 1 when it found a key. Every connection it opened is closed before it resolves.
 *
 * @example
 * const code = await main(['api-keys', 'list', '--ring', 'file:./api-keys.json']);
 * @example
 * // in a test, with captured output
 * let out = '';
 * await main(['api-keys', 'create', '--client', 'partner', '--scopes', 'reports:read'], {
 *   stdout: { write: (t: string) => (out += t) }, stderr: process.stderr, env: { KEYWARD_RING: 'file:ring.json', KEYWARD_PEPPER: 'env:PEPPER', PEPPER: '...' }, cwd: '/tmp',
 * });
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const output = new Output(io);
  let usage = mainUsage();
  try {
    const [groupName, commandName, ...rest] = argv;
    if (groupName === undefined) throw new UsageError('missing command', usage);
    if (groupName === '--help' || groupName === '-h' || groupName === 'help') {
      output.out(usage);
      return 0;
    }
    const single = Object.hasOwn(COMMANDS, groupName) ? COMMANDS[groupName] : undefined;
    if (single !== undefined) return await runCommand(single, argv.slice(1), shortUsageOf(groupName, single), () => usageOf(groupName, single), io, output);
    const group = GROUPS.find((g) => g.name === groupName);
    if (group === undefined) throw new UsageError(`unknown command ${shown(groupName)}`, usage);
    usage = shortGroupUsage(group);
    if (commandName === undefined) throw new UsageError(`missing ${group.name} command`, usage);
    if (commandName === '--help' || commandName === '-h' || commandName === 'help') {
      output.out(groupUsage(group));
      return 0;
    }
    const command = Object.hasOwn(group.commands, commandName) ? group.commands[commandName] : undefined;
    if (command === undefined) throw new UsageError(`unknown ${group.name} command ${shown(commandName)}`, usage);
    return await runCommand(command, rest, shortCommandUsage(group, commandName, command), () => commandUsage(group, commandName, command), io, output);
  } catch (err) {
    return failed(err, output);
  }
}

/** Parses a command's arguments and runs it; `usage` goes with usage errors, `fullUsage()` answers --help. */
async function runCommand(command: Command, args: readonly string[], usage: string, fullUsage: () => string, io: CliIo, output: Output): Promise<number> {
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), usage);
  }
  if (parsed.values['help'] === true) {
    output.out(fullUsage());
    return 0;
  }
  const { min, max, names } = command.positionals ?? { min: 0, max: 0, names: '' };
  if (parsed.positionals.length < min) throw new UsageError(`missing ${names}`, usage);
  if (parsed.positionals.length > max) {
    // Never quoted: a stray argument is often a secret pasted where a flag's value belonged.
    throw new UsageError(`unexpected positional argument #${max + 1} (${parsed.positionals[max]!.length} characters, not shown)`, usage);
  }
  const values = Object.fromEntries(Object.entries(parsed.values).map(([k, v]) => [k, Array.isArray(v) ? v.at(-1) : v]));
  const lists = Object.fromEntries(Object.entries(parsed.values).flatMap(([k, v]) => (Array.isArray(v) ? [[k, v.filter((x) => typeof x === 'string')]] : [])));
  return await command.run({ values, lists, positionals: parsed.positionals, io, output, usage });
}

/** How a run ends on an error: exit 2 with the usage for a usage error, else 1 with the error's code. */
function failed(err: unknown, output: Output): number {
  if (err instanceof UsageError) {
    output.err(`keyward: ${err.message}\n\n${err.usage}`);
    return 2;
  }
  if (isKeywardError(err)) {
    output.err(`keyward: ${err.code}: ${err.message}\n`);
    return 1;
  }
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  output.err(`keyward: ERROR: ${name}: ${message}\n`);
  return 1;
}

/**
 * A command or option name as typed, quoted when it looks like one (lower-case words joined by
 * hyphens, short); anything else may be a pasted secret and is described by its length only.
 */
function shown(word: string): string {
  return looksLikeName(word) ? `"${word}"` : `(${word.length} characters, not shown)`;
}

function looksLikeName(word: string): boolean {
  return /^[a-z]+(-[a-z]+)*$/.test(word) && word.length <= 24;
}

/** parseArgs' message, without the option it names unless that looks like an option name. */
function parseArgsMessage(err: unknown): string {
  // Not `instanceof Error`: jest's VM realm has an Error of its own.
  const { code, message = String(err) } = err as { code?: unknown; message?: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']*)'/.exec(message)?.[1] ?? '';
    const name = /^--?(.*)$/s.exec(option)?.[1] ?? option;
    return /^[A-Za-z]$/.test(name) || looksLikeName(name) ? `unknown option '${option}'` : `unknown option (${option.length} characters, not shown)`;
  }
  // The other parseArgs messages name the option only, never a value.
  return message.replace(/\. To specify a positional argument.*$/s, '');
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    // Only commands that take input touch process.stdin: opening it can hold a TTY.
    get stdin() {
      return process.stdin;
    },
  };
}
