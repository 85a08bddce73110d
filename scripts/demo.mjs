#!/usr/bin/env node
// Starts a demo service (default: the NestJS one) on embedded defaults. The first run writes
// the demo's git-ignored .env with random development values, from the names in .env.example.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2] ?? 'nest';
const appDir = join(root, 'apps', `demo-${which}`);
if (!existsSync(join(appDir, 'package.json'))) {
  console.error(`unknown demo "${which}" (try: nest, express)`);
  process.exit(2);
}

const envFile = join(appDir, '.env');
if (!existsSync(envFile)) {
  const lines = readFileSync(join(appDir, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => (/^[A-Z0-9_]+=$/.test(line) ? `${line}${randomBytes(24).toString('base64url')}` : line));
  writeFileSync(envFile, lines.join('\n'), { mode: 0o600 });
  console.log(`wrote ${relative(root, envFile)} with random development values (git-ignored)`);
}

const child = spawn(process.execPath, ['dist/main.js'], {
  cwd: appDir,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development' },
});
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}
// Stopped on purpose (Ctrl-C) is a clean exit; a crash is not.
child.on('exit', (code, signal) => process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0))));
