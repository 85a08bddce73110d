#!/usr/bin/env node
// Packs every published package (packages/*, not private) with `pnpm pack`, as a registry would
// receive it: workspace ranges rewritten, publishConfig applied, only `files` included.
// Usage: node scripts/pack-packages.mjs <destination folder>   (build first: `pnpm build`)
// Prints one JSON line: { "@keyward/core": "/dest/keyward-core-0.1.0.tgz", ... }.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The published packages of the workspace: folder and manifest of each. */
export function publishedPackages() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'package.json')))
    .map((name) => ({ folder: join(dir, name), manifest: JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => !manifest.private)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

/** Packs each published package into `destination` (one pnpm run); returns { name: tarball path }. */
export function packPackages(destination) {
  mkdirSync(destination, { recursive: true });
  const filters = publishedPackages().flatMap(({ manifest }) => ['--filter', manifest.name]);
  const out = execFileSync('npx', ['-y', 'pnpm@12.4.2', '-r', ...filters, 'pack', '--json', '--pack-destination', destination], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 2 * 60_000,
  });
  const packed = JSON.parse(out.slice(out.indexOf('[')));
  return Object.fromEntries(packed.map(({ name, filename }) => [name, filename]));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const destination = process.argv[2];
  if (!destination) {
    console.error('usage: node scripts/pack-packages.mjs <destination folder>');
    process.exit(2);
  }
  console.log(JSON.stringify(packPackages(resolve(destination))));
}
