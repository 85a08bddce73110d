#!/usr/bin/env node
// Builds every package twice from one source: ESM into dist/ (tsc -b over the project
// references, which the demos and the ESM `import` condition use) and CommonJS into dist/cjs/
// (each published package's tsconfig.cjs.json, for the `require` condition), two at a time.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedPackages } from './pack-packages.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function run(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} in ${cwd} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

async function buildCommonJs(folder) {
  rmSync(join(folder, 'dist/cjs'), { recursive: true, force: true });
  await run([tsc, '-p', 'tsconfig.cjs.json'], folder);
  await run([join(root, 'scripts/mark-commonjs.mjs'), 'dist/cjs'], folder);
}

await run([tsc, '-b', 'tsconfig.build.json'], root);

// A package's CommonJS build type-checks against its dependencies' CommonJS declarations, so
// each waits for the @keyward packages it depends on.
const packages = publishedPackages().filter(({ folder }) => existsSync(join(folder, 'tsconfig.cjs.json')));
const names = new Set(packages.map(({ manifest }) => manifest.name));
const built = new Map();
const build = (pkg) => {
  if (!built.has(pkg.manifest.name)) {
    const needs = Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies }).filter((d) => names.has(d));
    const deps = needs.map((d) => build(packages.find(({ manifest }) => manifest.name === d)));
    built.set(pkg.manifest.name, Promise.all(deps).then(() => slot(() => buildCommonJs(pkg.folder))));
  }
  return built.get(pkg.manifest.name);
};
// Two compilers at a time: one per core.
let running = 0;
const waiting = [];
async function slot(task) {
  if (running >= 2) await new Promise((resolve) => waiting.push(resolve));
  running++;
  try {
    return await task();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
await Promise.all(packages.map(build));
