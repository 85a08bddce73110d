import type { ParseArgsConfig } from 'node:util';
import type { CliIo, Output } from './io.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** What a command's `run` gets: its parsed options and positionals, and where to write. */
export interface CommandContext {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  /** Every value of each option declared `multiple: true` (`--context a=1 --context b=2`), in order; `values` holds the last. */
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  readonly output: Output;
  /** This command's usage text, for `UsageError`s raised by `run`. */
  readonly usage: string;
}

/** One command of a group (`create` in `keyward api-keys create`). */
export interface Command {
  readonly summary: string;
  /** The synopsis line(s) after `keyward <group> <name>`. */
  readonly synopsis: string;
  /** Lines describing the options, shown by `--help`. */
  readonly help: string;
  readonly options: OptionSpecs;
  /** How many positionals it takes (default 0). */
  readonly positionals?: { readonly min: number; readonly max: number; readonly names: string };
  /** Resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** A group of commands (`api-keys`, `audit`). */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  /** Shown under the group's command list (options shared by its commands). */
  readonly footer?: string;
  readonly commands: Readonly<Record<string, Command>>;
}

/** The usage text of a group, listing its commands. */
export function groupUsage(group: CommandGroup): string {
  const width = Math.max(...Object.keys(group.commands).map((n) => n.length));
  const lines = Object.entries(group.commands).map(([name, c]) => `  keyward ${group.name} ${name.padEnd(width)}  ${c.summary}`);
  return [`Usage: keyward ${group.name} <command> [options]`, '', `${group.summary}`, '', 'Commands:', ...lines, ...(group.footer ? ['', group.footer] : []), '', `Run 'keyward ${group.name} <command> --help' for a command's options.`].join('\n') + '\n';
}

/** The short usage shown with a usage error: the synopsis and where to read more. */
export function shortCommandUsage(group: CommandGroup, name: string, command: Command): string {
  return shortUsageOf(`${group.name} ${name}`, command);
}

/** The short usage of the command `keyward <path>` (`api-keys create`, or `scan` outside any group). */
export function shortUsageOf(path: string, command: Command): string {
  return `Usage: keyward ${path} ${command.synopsis}\nRun 'keyward ${path} --help' for its options.\n`;
}

/** The short usage of a group: its commands, one a line. */
export function shortGroupUsage(group: CommandGroup): string {
  const width = Math.max(...Object.keys(group.commands).map((n) => n.length));
  const lines = Object.entries(group.commands).map(([name, c]) => `  keyward ${group.name} ${name.padEnd(width)}  ${c.synopsis}`);
  return ['Usage:', ...lines, `Run 'keyward ${group.name} <command> --help' for its options.`].join('\n') + '\n';
}

/** The usage text of one command. */
export function commandUsage(group: CommandGroup, name: string, command: Command): string {
  return usageOf(`${group.name} ${name}`, command, group.footer);
}

/** The usage text of the command `keyward <path>`, with its group's footer if any. */
export function usageOf(path: string, command: Command, footer?: string): string {
  return [`Usage: keyward ${path} ${command.synopsis}`, '', command.summary, '', command.help, ...(footer ? ['', footer] : [])].join('\n') + '\n';
}
