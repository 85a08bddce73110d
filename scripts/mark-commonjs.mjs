#!/usr/bin/env node
// Marks a CommonJS build folder as such: Node and TypeScript read the nearest package.json's
// "type", and the package itself says "module". Usage: node scripts/mark-commonjs.mjs dist/cjs
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node scripts/mark-commonjs.mjs <folder>');
  process.exit(2);
}
writeFileSync(join(resolve(folder), 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
