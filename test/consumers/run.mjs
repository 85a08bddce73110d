#!/usr/bin/env node
// The consumer suite (issue 11): can a stranger's app adopt Keyward from the packed tarballs?
// Builds and packs the packages, then for each app in apps/: copies it to a temp folder, points
// its @keyward/* dependencies at the tarballs, installs with npm (no workspace links), compiles
// it with its own TypeScript, boots it on 127.0.0.1, sends it real requests, stops it with
// SIGTERM, checks its audit file, and runs its own jest tests. See README.md beside this file.
//
// Each app installs and compiles once, then boots, answers and runs its jest on this machine's
// Node.js and again on each Node.js of CONSUMER_NODES (default 22.23.5,24.22.3: the official
// binaries from the npm registry's node-<os>-<arch> packages, kept in ~/.cache/keyward-consumers).
//
// Usage: node test/consumers/run.mjs [app ...] [--no-build]
//   KEEP_CONSUMERS=1 keeps the temp folders (their path is printed).
//   CONSUMER_NODES=22.23.5 (or empty: this Node.js only) picks the other Node.js versions.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAuditFile, checkNoSecretIn, checkRequests, freePort, waitUntilServing } from './lib/app-checks.mjs';
import { childEnv, killAll, run, start, StepFailure } from './lib/processes.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const appsDir = fileURLToPath(new URL('./apps', import.meta.url));
const MINUTE = 60_000;
const INSTALL_TIMEOUT = 5 * MINUTE;
const STEP_TIMEOUT = 2 * MINUTE;
// `pnpm build` compiles every package twice (ESM and CommonJS); on two busy cores that can take
// longer than the other steps' two minutes.
const BUILD_TIMEOUT = 5 * MINUTE;

const DEFAULT_NODES = '22.23.5,24.22.3';
const otherNodes = (process.env.CONSUMER_NODES ?? DEFAULT_NODES).split(',').map((v) => v.trim()).filter(Boolean);

const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const known = readdirSync(appsDir).filter((name) => existsSync(join(appsDir, name, 'package.json')));
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((name) => !known.includes(name));
if (unknown.length > 0) {
  console.error(`consumers: no app named ${unknown.join(', ')} (apps: ${known.join(', ')})`);
  process.exit(2);
}
// Sequential, in the matrix's order: the machine has two cores.
const order = ['nest11-cjs', 'nest12-esm', 'express4-cjs', 'express5-esm'];
const apps = (wanted.length > 0 ? wanted : known).sort((a, b) => rank(a) - rank(b));
function rank(name) {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}

const work = mkdtempSync(join(tmpdir(), 'keyward-consumers-'));
const keep = process.env.KEEP_CONSUMERS === '1';
function cleanUp() {
  killAll();
  if (keep) console.log(`consumers: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`consumers: stopped by ${signal}`);
    cleanUp();
    process.exit(1);
  });
}

const seconds = (ms) => (ms < 1000 ? (ms / 1000).toFixed(2) : ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));
const indent = (text, lines = 200) =>
  text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => `    | ${line}`)
    .join('\n');

/** Runs one step, prints `<who>: <step> ok (N s)` or the failure with its output; rethrows failures. */
async function step(who, name, task) {
  const began = Date.now();
  try {
    const note = await task();
    console.log(`${who}: ${name} ok${note ? `: ${note}` : ''} (${seconds(Date.now() - began)} s)`);
  } catch (err) {
    console.log(`${who}: ${name} FAILED (${seconds(Date.now() - began)} s): ${err.message}`);
    if (err instanceof StepFailure && err.output) console.log(indent(err.output));
    else if (!(err instanceof StepFailure)) console.log(indent(err.stack ?? String(err)));
    throw Object.assign(err, { step: name });
  }
}

/** The template's package.json with every @keyward/* dependency and an override on its tarball. */
function pointAtTarballs(manifest, tarballs) {
  const file = (name) => `file:${tarballs[name]}`;
  const rewritten = { ...manifest };
  for (const field of ['dependencies', 'devDependencies']) {
    if (manifest[field] === undefined) continue;
    rewritten[field] = Object.fromEntries(
      Object.entries(manifest[field]).map(([name, range]) => {
        if (!name.startsWith('@keyward/')) return [name, range];
        if (tarballs[name] === undefined) throw new StepFailure(`the app depends on ${name}, which is not a packed package`);
        return [name, file(name)];
      }),
    );
  }
  // The tarballs depend on `@keyward/core@^0.1.0`: without overrides npm would look for it on the registry.
  rewritten.overrides = { ...manifest.overrides, ...Object.fromEntries(Object.keys(tarballs).map((name) => [name, file(name)])) };
  return rewritten;
}

/** Which module system tsc emitted for the app: what its imports of @keyward/* became. */
function emittedModuleSystem(dir) {
  const sources = readdirSync(join(dir, 'dist'), { recursive: true })
    .filter((f) => String(f).endsWith('.js'))
    .map((f) => readFileSync(join(dir, 'dist', String(f)), 'utf8'))
    .join('\n');
  const cjs = /require\(["']@keyward\/[a-z0-9-]+["']\)/.test(sources);
  const esm = /\bfrom\s*["']@keyward\/[a-z0-9-]+["']/.test(sources);
  return cjs && !esm ? 'CommonJS' : esm && !cjs ? 'ESM' : 'unclear';
}

async function consumer(name, tarballs) {
  const who = `consumer ${name}`;
  const dir = join(work, 'apps', name);
  const manifest = JSON.parse(readFileSync(join(appsDir, name, 'package.json'), 'utf8'));
  const expected = manifest.type === 'module' ? 'ESM' : 'CommonJS';
  const npm = (script, extra = {}) => run('npm', ['run', '--silent', script], { cwd: dir, timeoutMs: STEP_TIMEOUT, ...extra });

  cpSync(join(appsDir, name), dir, { recursive: true, filter: (src) => !/[/\\](node_modules|dist|logs|coverage)$/.test(src) });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pointAtTarballs(manifest, tarballs), null, 2)}\n`);

  await step(who, 'install', async () => {
    const out = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, timeoutMs: INSTALL_TIMEOUT });
    return /added \d+ packages?/.exec(out)?.[0];
  });
  await step(who, 'tsc', async () => {
    await npm('build');
    const emitted = emittedModuleSystem(dir);
    if (emitted !== expected) throw new StepFailure(`expected ${expected} output, dist/ has ${emitted} imports of @keyward/*`);
    return `${emitted} output`;
  });

  // The secrets a deployment would set: a canary value to look for everywhere afterwards.
  const planted = {
    stripeKey: `sk_live_canary_${randomBytes(12).toString('hex')}`,
    apiKeyPepper: randomBytes(32).toString('hex'),
    auditKey: randomBytes(32).toString('hex'),
    // The local KEK's first version (the apps that use envelope encryption declare envelopeKek).
    envelopeKey: randomBytes(32).toString('base64'),
  };
  let issued;
  await step(who, 'api key issued', async () => {
    const out = await npm('issue-api-key', { env: childEnv({ API_KEY_PEPPER: planted.apiKeyPepper }) });
    issued = JSON.parse(out.trim().split('\n').at(-1));
    return `keyId ${issued.ring.keys[0].keyId}`;
  });

  for (const runtime of runtimes) await exercise(`${who} on node ${runtime.version}`, dir, runtime, planted, issued);
}

/**
 * Boots the compiled app on `runtime`'s node, sends it real requests, stops it, checks its audit
 * file, and runs its own jest with that node first on PATH (npm and jest run on it too).
 */
async function exercise(who, dir, runtime, planted, issued) {
  const auditFile = join(dir, 'logs', `audit-node-${runtime.version}.jsonl`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const path = `${dirname(runtime.bin)}${delimiter}${process.env.PATH ?? ''}`;
  const env = childEnv({
    PATH: path,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    STRIPE_KEY: planted.stripeKey,
    API_KEYS: JSON.stringify(issued.ring),
    API_KEY_PEPPER: planted.apiKeyPepper,
    AUDIT_KEY: planted.auditKey,
    AUDIT_FILE: auditFile,
    ENVELOPE_KEK: JSON.stringify({ 1: planted.envelopeKey }),
  });
  const app = start(runtime.bin, ['dist/main.js'], { cwd: dir, env, timeoutMs: STEP_TIMEOUT });
  let requests;
  try {
    await step(who, 'boot', () => waitUntilServing(base, app, 30_000));
    await step(who, 'requests', async () => {
      requests = await checkRequests(base, issued.key);
      return 'GET / 200, /charges 401 without a key, 200 with one';
    });
    await step(who, 'stop', async () => {
      app.signal('SIGTERM');
      const { code, signal, timedOut } = await Promise.race([app.exited, new Promise((resolve) => setTimeout(() => resolve({ timedOut: true }), 15_000))]);
      if (timedOut) throw new StepFailure('the app did not end within 15 s of SIGTERM', app.output());
      // Nest's shutdown hooks close the app, then raise the signal again; Express's handler exits 0.
      if (code !== 0 && signal !== 'SIGTERM' && code !== 128 + 15) throw new StepFailure(`the app ended with ${signal ?? `exit ${code}`}`, app.output());
      return signal ? `ended by ${signal}` : `exit ${code}`;
    });
  } finally {
    app.kill();
  }
  await step(who, 'audit', async () => {
    const { text, records } = await checkAuditFile(dir, auditFile, planted.auditKey, requests);
    checkNoSecretIn({ ...planted, 'API key': issued.key }, { 'a response': requests.seen.join('\n'), "the app's output": app.output(), 'the audit file': text });
    return `${records} records, chain verified, both /charges requests recorded, no secret in responses, output or trail`;
  });

  await step(who, 'jest', async () => {
    const testEnv = childEnv({ CI: 'true', PATH: path });
    const version = (await run('node', ['--version'], { cwd: dir, env: testEnv, timeoutMs: STEP_TIMEOUT })).trim();
    if (version !== `v${runtime.version}`) throw new StepFailure(`node on the test's PATH is ${version}, not v${runtime.version}`);
    const out = await run('npm', ['test'], { cwd: dir, env: testEnv, timeoutMs: STEP_TIMEOUT });
    const tests = /^Tests:\s+(\d+) passed, (\d+) total/m.exec(out);
    return tests ? `${tests[1]} of ${tests[2]} tests passed` : undefined;
  });
}

/** The npm package that carries the official Node.js binary for this machine. */
function nodePackage(version) {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return `node-${os}-${process.arch}@${version}`;
}

/** The path of a Node.js `version` binary, installed from the npm registry on first use. */
async function nodeRuntime(version) {
  const prefix = join(homedir(), '.cache', 'keyward-consumers', `node-${version}`);
  const name = nodePackage(version).replace(/@[^@]+$/, '');
  const bin = join(prefix, 'node_modules', name, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    const install = ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', nodePackage(version)];
    await run('npm', install, { cwd: prefix, timeoutMs: INSTALL_TIMEOUT });
  }
  const reported = (await run(bin, ['--version'], { cwd: prefix, timeoutMs: STEP_TIMEOUT })).trim();
  if (reported !== `v${version}`) throw new StepFailure(`${bin} says ${reported}, not v${version}`);
  return bin;
}

let runtimes = [];
const began = Date.now();
const passed = [];
const failed = [];
try {
  try {
    if (build) {
      await step('consumers', 'build', async () => {
        await run('npx', ['-y', 'pnpm@12.4.2', 'build'], { cwd: root, timeoutMs: BUILD_TIMEOUT });
      });
    }
    if (!existsSync(join(root, 'packages/core/dist/cjs/index.js'))) {
      throw new StepFailure('packages/core/dist/cjs/index.js is missing: the CommonJS build did not run');
    }
  } catch (err) {
    throw Object.assign(err, { step: 'build' });
  }
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir, { recursive: true });
  let tarballs;
  // The script's own command line (packPackages() in a child), so that the pack has a timeout too.
  await step('consumers', 'pack', async () => {
    const out = await run(process.execPath, [join(root, 'scripts/pack-packages.mjs'), tarballDir], { cwd: root, timeoutMs: STEP_TIMEOUT });
    tarballs = JSON.parse(out.trim().split('\n').at(-1));
    return `${Object.keys(tarballs).length} tarballs`;
  });

  runtimes = [{ version: process.versions.node, bin: process.execPath }];
  for (const version of otherNodes) {
    await step('consumers', `node ${version}`, async () => {
      runtimes.push({ version, bin: await nodeRuntime(version) });
      return `from the registry's ${nodePackage(version)}`;
    });
  }

  for (const name of apps) {
    const appBegan = Date.now();
    try {
      await consumer(name, tarballs);
      passed.push(name);
      console.log(`consumer ${name}: passed (${seconds(Date.now() - appBegan)} s)`);
    } catch (err) {
      killAll();
      failed.push(`${name} (${err.step ?? 'setup'})`);
      if (err.step === undefined) console.log(`consumer ${name}: FAILED: ${err.stack ?? err}`);
    }
  }
} catch (err) {
  failed.push(`all apps (${err.step ?? 'setup'})`);
  if (err.step === undefined || !(err instanceof StepFailure)) console.log(`consumers: FAILED: ${err.stack ?? err}`);
  else if (err.step === 'build' && !err.output) console.log(`consumers: ${err.message}`);
} finally {
  cleanUp();
}

// Not jest's "N passed, N failed" form: CI reads that one from the main jest run.
const total = apps.length;
const took = `${seconds(Date.now() - began)} s`;
if (failed.length === 0) {
  console.log(`consumers: ${passed.length} of ${total} apps passed (${passed.join(', ')}) in ${took}`);
} else {
  console.log(`consumers: ${passed.length} of ${total} apps passed${passed.length ? ` (${passed.join(', ')})` : ''}; failing: ${failed.join(', ')}; ${took}`);
}
process.exit(failed.length === 0 ? 0 : 1);
