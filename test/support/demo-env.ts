import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyKeyRing, fileKeyRing, keyRingAdmin, parseKeyRing } from '@keyward/core';
import { demoKeyRingFiles } from '@keyward/demo-shared';
import { canary } from '@keyward/test-support';

/**
 * A temporary `.env` for a demo app, filled with canary values a test can scan output for, with
 * an empty API key ring and a canary pepper beside it (`.keyward/`), and an admin for that ring.
 */
export function demoEnvFile() {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
  const path = join(dir, '.env');
  const values = {
    SESSION_SECRET__VALUE: canary('session').padEnd(40, 'x'),
    AUDIT_KEY__VALUE: canary('audit-key').padEnd(40, 'x'),
    PAYMENTS_API_KEY__VALUE: canary('payments'),
    DATABASE__USERNAME: canary('user'),
    DATABASE__PASSWORD: canary('password'),
    // The local KEK's first version (a 32-byte key, base64), for the envelope's KEK on .env.
    ENVELOPE_KEK__1: randomBytes(32).toString('base64'),
  };
  const rotatedPassword = canary('rotated-password');
  const write = (v: Record<string, string>) => writeFileSync(path, Object.entries(v).map(([k, x]) => `${k}=${x}`).join('\n'));
  write(values);
  const files = demoKeyRingFiles(path);
  const pepper = canary('pepper').padEnd(40, 'x');
  mkdirSync(files.pepperDir, { recursive: true });
  writeFileSync(files.pepper, pepper);
  writeFileSync(files.ring, JSON.stringify(emptyKeyRing()));
  return {
    path,
    /** The folder holding `.env` (and `.keyward/`): a place for other files of the test, such as the audit trail. */
    dir,
    /** The database credentials planted in `.env`, for a test that gives the demo a real database. */
    database: { username: values.DATABASE__USERNAME, password: values.DATABASE__PASSWORD },
    /** The audit key planted in `.env`, to verify the demo's trail with. */
    auditKey: values.AUDIT_KEY__VALUE,
    /** Every canary planted, including the one `rotate()` writes. */
    canaries: [...Object.values(values), rotatedPassword, pepper],
    /** Manages the demo's key ring file as `keyward api-keys ...` would. */
    apiKeys: keyRingAdmin({ backend: fileKeyRing(files.ring), pepper, env: 'test' }),
    /** Whether the app's store holds the ring as last written (it watches the file). */
    ringLoadedBy: (store: { get(name: 'apiKeys'): { reveal(): unknown } }): boolean =>
      JSON.stringify(parseKeyRing(store.get('apiKeys').reveal())) === JSON.stringify(parseKeyRing(readFileSync(files.ring, 'utf8'))),
    /** Changes the database password in the file, as an operator editing `.env` would. */
    rotate: () => write({ ...values, DATABASE__PASSWORD: rotatedPassword }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
