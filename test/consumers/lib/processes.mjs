// Child processes of the consumer suite: each in its own process group (so that npm's and jest's
// own children go with it), bounded by a timeout, and all of them killed if the runner stops.
import { spawn } from 'node:child_process';

const MAX_OUTPUT = 4 * 1024 * 1024;
const groups = new Set();

/** Kills every process group still running (on failure, on the runner's exit or on Ctrl-C). */
export function killAll() {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** A step failed: its name, what happened, and the output to show. */
export class StepFailure extends Error {
  constructor(message, output = '') {
    super(message);
    this.name = 'StepFailure';
    this.output = output;
  }
}

/**
 * The variables a child gets: the runner's, without what would change npm, node or jest
 * underneath the app (pnpm's `npm_*` settings when run through `pnpm test:consumers`,
 * NODE_OPTIONS, NODE_ENV: with `production` npm would skip the dev dependencies).
 */
export function childEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|NODE_OPTIONS$|NODE_ENV$|INIT_CWD$|JEST_WORKER_ID$)/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, npm_config_update_notifier: 'false', ...extra };
}

/**
 * Starts `command`; `exited` resolves with `{ code, signal }` once it has ended (or was killed
 * at `timeoutMs`: `timedOut` is then true). `output()` is its stdout and stderr, interleaved.
 */
export function start(command, args, { cwd, env = childEnv(), timeoutMs }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child.pid);
  let output = '';
  const append = (chunk) => {
    output += chunk;
    if (output.length > MAX_OUTPUT) output = output.slice(-MAX_OUTPUT);
  };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGKILL');
  }, timeoutMs);
  const exited = new Promise((resolve) => {
    child.on('error', (err) => {
      append(`\n${err.message}\n`);
      resolve({ code: null, signal: null, timedOut });
    });
    child.on('close', (code, signal) => resolve({ code, signal, timedOut }));
  }).then((result) => {
    clearTimeout(timer);
    // Whatever the command left behind in its group (a jest worker, a server) goes too.
    killGroup(child.pid, 'SIGKILL');
    groups.delete(child.pid);
    return { ...result, timedOut };
  });
  return {
    pid: child.pid,
    exited,
    output: () => output,
    /** Sends `signal` to the process itself (not its group): what a supervisor does to stop it. */
    signal: (signal) => child.kill(signal),
    kill: () => killGroup(child.pid, 'SIGKILL'),
  };
}

/** Runs `command` to its end; resolves with its output, or rejects with a StepFailure holding it. */
export async function run(command, args, options) {
  const started = start(command, args, options);
  const { code, signal, timedOut } = await started.exited;
  const shown = [command, ...args].join(' ');
  if (timedOut) throw new StepFailure(`${shown} did not finish within ${options.timeoutMs / 1000} s`, started.output());
  if (code !== 0) throw new StepFailure(`${shown} failed (${signal ?? `exit ${code}`})`, started.output());
  return started.output();
}
