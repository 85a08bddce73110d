import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from './cli.js';

/**
 * `keyward ...` as an operator runs it next to a running demo: from a folder holding the
 * `.keyward/cli.json` the launcher writes (here: a temporary one), with no other environment.
 */
export function demoCli(config: object, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
  mkdirSync(join(cwd, '.keyward'));
  writeFileSync(join(cwd, '.keyward', 'cli.json'), JSON.stringify(config), { mode: 0o600 });
  const runs: CliRun[] = [];
  return {
    runs,
    async run(...args: string[]): Promise<CliRun> {
      const result = await runCli(args, env, cwd, runs);
      if (result.code !== 0) throw new Error(`keyward ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return result;
    },
    remove: () => rmSync(cwd, { recursive: true, force: true }),
  };
}
