// Runs every benchmark in this folder; each prints one JSON line per result.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
for (const file of readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()) {
  if (only && !file.includes(only)) continue;
  const bench = (await import(join(here, file))) as { run: () => Promise<void> };
  await bench.run();
}
