#!/usr/bin/env node
// Checks what a registry would receive: builds, packs every published package, then runs
// `publint --strict` and `attw` (every resolution mode: node10, node16 from CJS and from ESM,
// bundler) on each tarball, and loads both builds of @keyward/core side by side to prove that
// their errors recognise each other. Exit 1 on any problem.
// Usage: node scripts/check-packages.mjs [--no-build]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packPackages } from './pack-packages.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules/.bin', name);

if (!process.argv.includes('--no-build')) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit', timeout: 10 * 60_000 });

const destination = mkdtempSync(join(tmpdir(), 'keyward-packages-'));
const problems = [];
try {
  const tarballs = packPackages(destination);
  for (const [name, tarball] of Object.entries(tarballs)) {
    for (const [tool, args] of [
      ['publint --strict', [bin('publint'), 'run', tarball, '--strict']],
      ['attw', [bin('attw'), tarball, '--profile', 'strict', '--format', 'ascii', '--no-color', '--no-emoji']],
    ]) {
      const run = spawnSync(args[0], args.slice(1), { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 2 * 60_000 });
      const output = `${run.stdout}${run.stderr}`;
      // publint exits 0 on warnings unless --strict; it prints "All good!" only when there is nothing at all.
      const clean = run.status === 0 && (tool !== 'publint --strict' || output.includes('All good!'));
      console.log(`packages: ${name}: ${tool} ${clean ? 'clean' : 'PROBLEMS'}`);
      if (!clean) problems.push(`${name} (${tool}):\n${output.trim()}`);
    }
  }
} finally {
  rmSync(destination, { recursive: true, force: true });
}

// The dual-package hazard: an app that ends up with both builds has two copies of each class.
const dual = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { createRequire } from 'node:module';
     const cjs = createRequire(${JSON.stringify(join(root, 'package.json'))})(${JSON.stringify(join(root, 'packages/core/dist/cjs/index.js'))});
     const esm = await import(${JSON.stringify(new URL('packages/core/dist/index.js', `file://${root}/`).href)});
     const fromCjs = new cjs.ApiKeyScopeError('admin', 'partner');
     const fromEsm = new esm.KeywardError('API_KEY_REVOKED', 'revoked');
     const checks = {
       twoCopies: cjs.KeywardError !== esm.KeywardError,
       esmRecognisesCjs: esm.KeywardError.is(fromCjs, 'API_KEY_SCOPE') && fromCjs instanceof esm.KeywardError,
       cjsRecognisesEsm: cjs.isKeywardError(fromEsm, 'API_KEY_REVOKED') && fromEsm instanceof cjs.KeywardError,
     };
     console.log(JSON.stringify(checks));
     process.exit(Object.values(checks).every(Boolean) ? 0 : 1);`,
  ],
  { cwd: root, encoding: 'utf8', timeout: 60_000 },
);
console.log(`packages: dual-package errors ${dual.status === 0 ? 'recognised across the ESM and CommonJS copies' : 'PROBLEMS'} ${dual.stdout.trim()}`);
if (dual.status !== 0) problems.push(`dual-package check:\n${dual.stdout}${dual.stderr}`);

if (problems.length > 0) {
  console.error(`\npackages: ${problems.length} problem(s)\n\n${problems.join('\n\n')}`);
  process.exit(1);
}
console.log('packages: every published package is clean under publint --strict and attw');
