import { main } from '@keyward/cli';

/** One in-process `keyward` run: its exit code and everything it printed. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `keyward <args>` in this process with only `env` as its environment and `cwd` as its
 * folder, capturing stdout and stderr; each run is also pushed to `runs`, for a leak scan later.
 */
export async function runCli(args: readonly string[], env: Record<string, string | undefined>, cwd: string, runs?: CliRun[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
  });
  const run = { code, stdout, stderr };
  runs?.push(run);
  return run;
}
