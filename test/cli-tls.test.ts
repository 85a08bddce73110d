import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mountLikeKubelet } from '@keyward/test-support';
import { testCertificate, type TestCertificate } from '@keyward/test-support/tls';
import { runCli, type CliRun } from './support/cli.js';

const runs: CliRun[] = [];
let dir: string;
const keyward = (args: string[]): Promise<CliRun> => runCli(['tls', 'check', ...args], {}, dir, runs);
const keyBody = (pem: string) => pem.split('\n').slice(1, -2).join('');

describe('keyward tls check (a certificate before it is uploaded)', () => {
  let root: TestCertificate;
  let intermediate: TestCertificate;
  let leaf: TestCertificate;
  let other: TestCertificate;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-cli-tls-'));
    root = await testCertificate({ ca: true, commonName: 'Shop Root' });
    intermediate = await testCertificate({ ca: true, commonName: 'Shop Issuing', issuer: root });
    leaf = await testCertificate({ issuer: intermediate, notAfter: new Date(Date.now() + 3 * 86_400_000) });
    other = await testCertificate({ issuer: intermediate });
    await writeFile(join(dir, 'tls.crt'), `${leaf.cert}${intermediate.cert}`);
    await writeFile(join(dir, 'tls.key'), leaf.key);
    await writeFile(join(dir, 'other.key'), other.key);
    await writeFile(join(dir, 'leaf-only.crt'), leaf.cert);
    await writeFile(join(dir, 'root.pem'), root.cert);
    await writeFile(join(dir, 'vault.json'), JSON.stringify({ data: { certificate: leaf.cert, private_key: leaf.key, issuing_ca: intermediate.cert, ca_chain: [intermediate.cert, root.cert], serial_number: 'x' } }));
    await mkdir(join(dir, 'mounted'));
    await mountLikeKubelet(join(dir, 'mounted', 'tls'), { 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': `${intermediate.cert}${root.cert}` });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    // No run printed any part of a private key.
    for (const run of runs) for (const key of [leaf.key, other.key]) expect(`${run.stdout}${run.stderr}`).not.toContain(keyBody(key));
  });

  it('passes a good bundle and says what would be served, from PEM files, a Vault answer or a mounted Kubernetes secret', async () => {
    const pem = await keyward(['tls.crt', 'tls.key', '--trust', 'root.pem']);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toContain('ok: would be served');
    expect(pem.stdout).toContain(`serial       ${leaf.serial}`);
    expect(pem.stdout).toContain('issuer       CN=Shop Issuing');
    expect(pem.stdout).toMatch(/\((2|3) days left\)/);
    expect(pem.stdout).toContain('chain        2 certificates served');
    for (const input of [['vault.json'], ['mounted/tls']]) {
      const run = await keyward(input);
      expect({ input, code: run.code, serial: run.stdout.includes(leaf.serial) }).toEqual({ input, code: 0, serial: true });
    }
  });

  it('refuses with the problem named: the wrong key, a missing intermediate, an expiry within --in', async () => {
    const wrongKey = await keyward(['tls.crt', 'other.key', '--trust', 'root.pem']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('SECRET_INVALID: the given TLS certificate is refused (key-mismatch)');
    const noIntermediate = await keyward(['leaf-only.crt', 'tls.key', '--trust', 'root.pem']);
    expect(noIntermediate.stderr).toContain('(chain-incomplete)');
    const untrusted = await keyward(['tls.crt', 'tls.key']);
    expect(untrusted.stderr).toContain('(chain-incomplete)');
    const nextWeek = await keyward(['tls.crt', 'tls.key', '--trust', 'root.pem', '--in', '7d']);
    expect(nextWeek.code).toBe(1);
    expect(nextWeek.stderr).toContain('(expired)');
    const usage = await keyward(['missing.pem']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('no file or folder at missing.pem');
  });
});
