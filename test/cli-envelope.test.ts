import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '@keyward/cli';
import { createEnvelope, localKek, parseEnvelope, type EnvelopeJson } from '@keyward/core';
import { canary, expectNoCanary } from '@keyward/test-support';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import type { CliRun } from './support/cli.js';

/** Sealed and opened in these tests; may appear only on a successful decrypt's stdout. */
const PLAINTEXT = canary('partner-token');
const key32 = () => randomBytes(32).toString('base64');
const KEY_V1 = key32();
const KEY_V2 = key32();

interface Run extends CliRun {
  readonly args: readonly string[];
}

/** Every run, scanned after all tests: the plaintext only on decrypt's stdout, the KEK's keys and the token nowhere. */
const runs: Run[] = [];
let dir: string;

/** `keyward <args>` in this process, with `stdin` as its input and only `env` as its environment. */
async function keyward(args: string[], options: { stdin?: string; env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd: options.cwd ?? dir,
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
  });
  const run = { args, code, stdout, stderr };
  runs.push(run);
  return run;
}

const keySet = (keys: Record<string, string>) => JSON.stringify(keys);

describe('keyward envelope (seal, open, count, re-wrap, rotate)', () => {
  let vault: VaultDevServer;

  beforeAll(async () => {
    [vault, dir] = await Promise.all([startVaultDevServer(), mkdtemp(join(tmpdir(), 'keyward-cli-envelope-'))]);
  });

  afterAll(async () => {
    await Promise.all([vault?.close(), dir && rm(dir, { recursive: true, force: true })]);
    const texts = Object.fromEntries(
      runs.flatMap((r, i) => [
        [`run ${i} (${r.args.slice(0, 2).join(' ')}) stderr`, r.stderr],
        // decrypt exists to print the plaintext; nothing else may.
        ...(r.args[1] === 'decrypt' && r.code === 0 ? [] : [[`run ${i} (${r.args.slice(0, 2).join(' ')}) stdout`, r.stdout]]),
      ]),
    );
    expectNoCanary(texts, PLAINTEXT);
    const all = Object.fromEntries(runs.flatMap((r, i) => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]));
    expectNoCanary(all, KEY_V1, KEY_V2, vault.rootToken);
  });

  describe('a local KEK', () => {
    const env = (keys: Record<string, string>) => ({ KEYWARD_KEK: 'local:env:ENVELOPE_KEK', ENVELOPE_KEK: keySet(keys) });
    const v1 = () => env({ '1': KEY_V1 });

    it('encrypt seals stdin (its newline dropped) and decrypt prints it back, with the same context only', async () => {
      const sealed = await keyward(['envelope', 'encrypt', '--context', 'table=partners', '--context', 'id=7'], { stdin: `${PLAINTEXT}\n`, env: v1() });
      expect(sealed).toMatchObject({ code: 0, stderr: '' });
      expect(sealed.stdout).toMatch(/^kw1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(parseEnvelope(sealed.stdout.trim()).kek).toEqual({ provider: 'local', keyId: 'local', keyVersion: '1' });

      // The app's own envelope opens it: the CLI seals what `createEnvelope` reads.
      const app = createEnvelope({ kek: localKek({ keys: keySet({ '1': KEY_V1 }) }) });
      await expect(app.decryptText(sealed.stdout.trim(), { context: { id: '7', table: 'partners' } })).resolves.toBe(PLAINTEXT);

      const opened = await keyward(['envelope', 'decrypt', '--context-json', '{"id":"7","table":"partners"}'], { stdin: sealed.stdout, env: v1() });
      expect(opened).toEqual({ args: expect.anything(), code: 0, stdout: `${PLAINTEXT}\n`, stderr: '' });
      const bare = await keyward(['envelope', 'decrypt', '-n', '--context', 'table=partners', '--context', 'id=7'], { stdin: sealed.stdout, env: v1() });
      expect(bare.stdout).toBe(PLAINTEXT);

      const wrongContext = await keyward(['envelope', 'decrypt', '--context', 'table=partners', '--context', 'id=8'], { stdin: sealed.stdout, env: v1() });
      expect(wrongContext).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: DECRYPT_FAILED: [^\n]*\n$/) });
      const otherKey = await keyward(['envelope', 'decrypt', '--context', 'table=partners', '--context', 'id=7'], { stdin: sealed.stdout, env: env({ '1': key32() }) });
      expect(otherKey).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: DECRYPT_FAILED: /) });
    });

    it('--json seals to the JSON form, which decrypt reads too; --keep-newline keeps the bytes', async () => {
      const sealed = await keyward(['envelope', 'encrypt', '--json', '--keep-newline'], { stdin: `${PLAINTEXT}\n`, env: v1() });
      expect(sealed.code).toBe(0);
      const json = JSON.parse(sealed.stdout) as EnvelopeJson;
      expect(json).toMatchObject({ format: 'keyward.envelope', version: 1, kek: { provider: 'local', keyId: 'local', keyVersion: '1' } });
      const opened = await keyward(['envelope', 'decrypt', '--no-newline'], { stdin: sealed.stdout, env: v1() });
      expect(opened).toMatchObject({ code: 0, stdout: `${PLAINTEXT}\n` });
    });

    it('refuses what it should not seal or cannot open, without echoing input', async () => {
      expect(await keyward(['envelope', 'encrypt'], { stdin: '\n', env: v1() })).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('CONFIG_INVALID: nothing to encrypt') });
      // The plaintext piped into decrypt by mistake: refused, not quoted.
      expect(await keyward(['envelope', 'decrypt'], { stdin: PLAINTEXT, env: v1() })).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('ENVELOPE_MALFORMED') });
      expect(await keyward(['envelope', 'decrypt'], { stdin: `{"token": "${PLAINTEXT}"`, env: v1() })).toMatchObject({ code: 1, stderr: 'keyward: ENVELOPE_MALFORMED: the envelope on stdin is not valid JSON\n' });
      const usage = await keyward(['envelope', 'encrypt', '--context', 'table'], { stdin: PLAINTEXT, env: v1() });
      expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('--context takes KEY=VALUE') });
      const both = await keyward(['envelope', 'encrypt', '--context', 'a=b', '--context-json', '{}'], { stdin: PLAINTEXT, env: v1() });
      expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('not both') });
      // A key pasted as the KEK spec is not echoed.
      const pasted = await keyward(['envelope', 'encrypt', '--kek', KEY_V1], { stdin: PLAINTEXT });
      expect(pasted).toMatchObject({ code: 1, stderr: expect.stringContaining('CONFIG_INVALID: the KEK has no kind') });
      const none = await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT });
      expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining('no KEK: pass --kek') });
      // A key set that is not one: named by where it is, never shown.
      const broken = await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, env: { ...v1(), ENVELOPE_KEK: `{"1": "${KEY_V1.slice(0, 20)}"}` } });
      expect(broken).toMatchObject({ code: 1, stderr: 'keyward: CONFIG_INVALID: localKek "local": version 1 is not a base64 32-byte key\n' });
    });

    it('finds the KEK in the config file, and under the key id the app gave its localKek', async () => {
      const folder = join(dir, 'configured');
      await mkdir(join(folder, '.keyward'), { recursive: true });
      await writeFile(join(folder, 'kek.json'), keySet({ '1': KEY_V1 }), { mode: 0o600 });
      await writeFile(join(folder, '.keyward', 'cli.json'), JSON.stringify({ kek: 'local:envelopeKek=file:kek.json' }));
      const app = createEnvelope({ kek: localKek({ keyId: 'envelopeKek', keys: keySet({ '1': KEY_V1 }) }) });
      const sealed = await app.encrypt(PLAINTEXT, { context: { table: 'notes' } });
      const opened = await keyward(['envelope', 'decrypt', '--context', 'table=notes'], { stdin: sealed, cwd: folder });
      expect(opened).toMatchObject({ code: 0, stdout: `${PLAINTEXT}\n` });
      // The default key id is another key: refused.
      const asLocal = await keyward(['envelope', 'decrypt', '--context', 'table=notes', '--kek', 'local:file:kek.json'], { stdin: sealed, cwd: folder });
      expect(asLocal).toMatchObject({ code: 1, stderr: expect.stringContaining('DECRYPT_FAILED') });
      await writeFile(join(folder, '.keyward', 'cli.json'), JSON.stringify({ kek: 'local:file:kek.json', aws: { kmsEndpoint: 'http://127.0.0.1:1' } }));
      expect(await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, cwd: folder })).toMatchObject({ code: 0 });
      await writeFile(join(folder, '.keyward', 'cli.json'), JSON.stringify({ kek: 1 }));
      expect(await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, cwd: folder })).toMatchObject({ code: 1, stderr: expect.stringContaining('"kek" must be a string') });
    });

    it('reads a key set kept in Vault KV, its fields being the versions', async () => {
      const write = await fetch(`${vault.url}/v1/secret/data/demo/dev/envelope-kek`, {
        method: 'POST',
        headers: { 'X-Vault-Token': vault.rootToken },
        body: JSON.stringify({ data: { '1': KEY_V1, '2': KEY_V2, min_decryption_version: '1' } }),
      });
      expect(write.ok).toBe(true);
      const vaultEnv = { KEYWARD_KEK: 'local:vault:secret/demo/dev/envelope-kek', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken };
      const sealed = await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, env: vaultEnv });
      expect(parseEnvelope(sealed.stdout.trim()).kek.keyVersion).toBe('2');
      expect(await keyward(['envelope', 'decrypt'], { stdin: sealed.stdout, env: vaultEnv })).toMatchObject({ code: 0, stdout: `${PLAINTEXT}\n` });
    });

    describe('inspect and rewrap of a file of envelopes', () => {
      let path: string;
      let originalLines: string[];
      const keysFile = () => join(dir, 'envelope-kek.json');
      // Relative to the run's cwd (the test folder).
      const fileKek = ['--kek', 'local:file:envelope-kek.json'];

      beforeAll(async () => {
        await writeFile(keysFile(), keySet({ '1': KEY_V1 }), { mode: 0o600 });
        const v1Envelope = createEnvelope({ kek: localKek({ keys: keySet({ '1': KEY_V1 }) }) });
        const notes = await Promise.all([1, 2, 3].map((id) => v1Envelope.encrypt(`${PLAINTEXT}-${id}`, { context: { table: 'notes' } })));
        const records = await Promise.all(
          [4, 5].map(async (id) => JSON.stringify({ id, envelope: await v1Envelope.encrypt(`${PLAINTEXT}-${id}`, { context: { table: 'partners', id: String(id) } }), context: { table: 'partners', id: String(id) }, note: 'kept' })),
        );
        const json = JSON.stringify(await v1Envelope.encrypt(`${PLAINTEXT}-6`, { context: { table: 'notes' }, form: 'json' }));
        // Line 7: a data key flipped by one bit (tampered); line 8 is not an envelope.
        const tamperedParts = notes[0]!.split('.');
        const wrapped = Buffer.from(tamperedParts[2]!, 'base64url');
        wrapped[20]! ^= 1;
        tamperedParts[2] = wrapped.toString('base64url');
        originalLines = [notes[0]!, notes[1]!, records[0]!, '', records[1]!, json, tamperedParts.join('.'), 'not an envelope', notes[2]!];
        path = join(dir, 'notes.jsonl');
        await writeFile(path, `${originalLines.join('\n')}\n`);
        await chmod(path, 0o640);
      });

      it('inspect counts envelopes per KEK version from a file or stdin, and reports lines that are none', async () => {
        const run = await keyward(['envelope', 'inspect', '--file', path, '--json']);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout)).toEqual({ envelopes: 7, byKek: [{ provider: 'local', keyId: 'local', keyVersion: '1', count: 7 }], unreadable: [{ line: 8, code: 'ENVELOPE_MALFORMED' }] });
        expect(run.stderr).toBe('keyward: ENVELOPE_MALFORMED: line 8 is not an envelope\n');
        const text = await keyward(['envelope', 'inspect'], { stdin: originalLines.filter((l) => l !== 'not an envelope').join('\r\n') });
        expect(text).toEqual({ args: expect.anything(), code: 0, stdout: 'PROVIDER  KEY ID  VERSION  ENVELOPES\nlocal     local   1        7\n7 envelopes\n', stderr: '' });
      });

      it('after a version is added to the key set, rewrap moves every envelope to it, in place, keeping IVs, ciphertexts, shapes and the mode', async () => {
        await writeFile(keysFile(), keySet({ '1': KEY_V1, '2': KEY_V2 }));
        const dry = await keyward(['envelope', 'rewrap', '--file', path, '--context', 'table=notes', '--dry-run', ...fileKek]);
        expect(JSON.parse(dry.stdout)).toMatchObject({ rewrapped: 6, written: false, dryRun: true });
        expect(await readFile(path, 'utf8')).toBe(`${originalLines.join('\n')}\n`);

        const run = await keyward(['envelope', 'rewrap', '--file', path, '--context', 'table=notes', '--concurrency', '3', ...fileKek]);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout)).toEqual({
          file: path,
          currentVersion: '2',
          seen: 8,
          rewrapped: 6,
          alreadyCurrent: 0,
          failed: 2,
          failures: [
            { line: 7, code: 'DECRYPT_FAILED' },
            { line: 8, code: 'ENVELOPE_MALFORMED' },
          ],
          written: true,
          dryRun: false,
        });
        expect(run.stderr).toContain('rewrap: 8 seen, 6 re-wrapped, 0 already current, 2 failed\n');
        expect(run.stderr).toContain('keyward: DECRYPT_FAILED: line 7 was not re-wrapped (kept as it is)\n');

        const lines = (await readFile(path, 'utf8')).split('\n');
        expect(lines).toHaveLength(originalLines.length + 1);
        expect(lines.at(-1)).toBe('');
        expect((await stat(path)).mode & 0o777).toBe(0o640);
        for (const i of [0, 1, 2, 4, 5, 8]) {
          const before = originalLines[i]!.startsWith('{') ? (JSON.parse(originalLines[i]!) as { envelope?: string }).envelope ?? JSON.parse(originalLines[i]!) : originalLines[i]!;
          const after = lines[i]!.startsWith('{') ? (JSON.parse(lines[i]!) as { envelope?: string }).envelope ?? JSON.parse(lines[i]!) : lines[i]!;
          expect(typeof after).toBe(typeof before); // the same form
          const [old, now] = [parseEnvelope(before), parseEnvelope(after)];
          expect(now.kek.keyVersion).toBe('2');
          expect(now.iv.equals(old.iv) && now.ciphertext.equals(old.ciphertext)).toBe(true);
          expect(now.wrappedKey.equals(old.wrappedKey)).toBe(false);
        }
        expect(JSON.parse(lines[2]!)).toMatchObject({ id: 4, context: { table: 'partners', id: '4' }, note: 'kept' });
        expect(Object.keys(JSON.parse(lines[2]!) as object)).toEqual(['id', 'envelope', 'context', 'note']);
        expect([lines[3], lines[6], lines[7]]).toEqual([originalLines[3], originalLines[6], originalLines[7]]);

        // The v2 envelopes open under v2 alone, once v1 is retired.
        const v2Only = createEnvelope({ kek: localKek({ keys: keySet({ '1': KEY_V1, '2': KEY_V2, min_decryption_version: '2' }) }) });
        await expect(v2Only.decryptText(lines[0]!, { context: { table: 'notes' } })).resolves.toBe(`${PLAINTEXT}-1`);
        await expect(v2Only.decryptText((JSON.parse(lines[4]!) as { envelope: string }).envelope, { context: { table: 'partners', id: '5' } })).resolves.toBe(`${PLAINTEXT}-5`);

        const inspected = await keyward(['envelope', 'inspect', '--file', path, '--json']);
        expect(JSON.parse(inspected.stdout)).toMatchObject({ byKek: [{ keyVersion: '1', count: 1 }, { keyVersion: '2', count: 6 }] });
      });

      it('a second rewrap re-wraps nothing and leaves the file untouched', async () => {
        const before = await readFile(path);
        const { mtimeMs } = await stat(path);
        const run = await keyward(['envelope', 'rewrap', '--file', path, '--context', 'table=notes', ...fileKek]);
        expect(JSON.parse(run.stdout)).toMatchObject({ seen: 8, rewrapped: 0, alreadyCurrent: 6, failed: 2, written: false });
        expect((await readFile(path)).equals(before)).toBe(true);
        expect((await stat(path)).mtimeMs).toBe(mtimeMs);
      });

      it('envelopes on a retired version fail KEK_DISABLED and are kept; a missing file is named', async () => {
        const retired = join(dir, 'retired.txt');
        const sealed = await createEnvelope({ kek: localKek({ keys: keySet({ '1': KEY_V1 }) }) }).encrypt(PLAINTEXT);
        await writeFile(retired, `${sealed}\n`);
        await writeFile(keysFile(), keySet({ '1': KEY_V1, '2': KEY_V2, min_decryption_version: '2' }));
        const run = await keyward(['envelope', 'rewrap', '--file', retired, ...fileKek]);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout)).toMatchObject({ rewrapped: 0, failures: [{ line: 1, code: 'KEK_DISABLED' }] });
        expect(await readFile(retired, 'utf8')).toBe(`${sealed}\n`);
        const missing = await keyward(['envelope', 'rewrap', '--file', join(dir, 'nope.txt'), ...fileKek]);
        expect(missing).toMatchObject({ code: 1, stderr: `keyward: CONFIG_INVALID: no file at ${join(dir, 'nope.txt')}\n` });
        await writeFile(keysFile(), keySet({ '1': KEY_V1, '2': KEY_V2 }));
      });
    });

    it('rotate-kek refuses a local key set, naming the version to add; --generate prints a fresh key for it', async () => {
      const keys = { '1': KEY_V1, '2': KEY_V2 };
      const refused = await keyward(['envelope', 'rotate-kek'], { env: env(keys) });
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toMatch(/^keyward: CONFIG_INVALID: local key set "local" at environment variable ENVELOPE_KEK is rotated by editing it, not by keyward: add version "3"/);
      const generated = await keyward(['envelope', 'rotate-kek', '--generate'], { env: env(keys) });
      expect(generated.code).toBe(0);
      expect(generated.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(generated.stderr).toContain('add it as version "3" (current: 2)');
      const fresh = generated.stdout.trim();
      expect(Buffer.from(fresh, 'base64')).toHaveLength(32);
      const sealed = await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, env: env({ ...keys, '3': fresh }) });
      expect(parseEnvelope(sealed.stdout.trim()).kek.keyVersion).toBe('3');
    });
  });

  it('--help lists the group and its commands', async () => {
    expect((await keyward(['--help'])).stdout).toMatch(/envelope\s+Envelope encryption/);
    const group = await keyward(['envelope', '--help']);
    for (const command of ['encrypt', 'decrypt', 'inspect', 'rewrap', 'rotate-kek']) expect(group.stdout).toContain(`keyward envelope ${command}`);
    const rewrap = await keyward(['envelope', 'rewrap', '--help']);
    expect(rewrap).toMatchObject({ code: 0, stdout: expect.stringContaining('--dry-run') });
    expect(rewrap.stdout).toContain('vault-transit:KEY[@MOUNT]');
  });
});
