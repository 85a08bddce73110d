import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@keyward/cli';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

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
      let stdout = '';
      let stderr = '';
      const code = await main(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env, cwd });
      const result = { code, stdout, stderr };
      runs.push(result);
      if (code !== 0) throw new Error(`keyward ${args.join(' ')} exited ${code}: ${stderr}`);
      return result;
    },
    remove: () => rmSync(cwd, { recursive: true, force: true }),
  };
}
