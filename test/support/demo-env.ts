import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canary } from './canary.js';

/** A temporary `.env` for a demo app, filled with canary values a test can scan output for. */
export function demoEnvFile() {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
  const path = join(dir, '.env');
  const values = {
    SESSION_SECRET__VALUE: canary('session').padEnd(40, 'x'),
    PAYMENTS_API_KEY__VALUE: canary('payments'),
    DATABASE__USERNAME: canary('user'),
    DATABASE__PASSWORD: canary('password'),
  };
  const rotatedPassword = canary('rotated-password');
  const write = (v: Record<string, string>) => writeFileSync(path, Object.entries(v).map(([k, x]) => `${k}=${x}`).join('\n'));
  write(values);
  return {
    path,
    /** Every canary planted, including the one `rotate()` writes. */
    canaries: [...Object.values(values), rotatedPassword],
    /** Changes the database password in the file, as an operator editing `.env` would. */
    rotate: () => write({ ...values, DATABASE__PASSWORD: rotatedPassword }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
