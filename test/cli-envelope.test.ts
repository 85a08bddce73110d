import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '@keyward/cli';
import { createEnvelope, localKek, parseEnvelope, type EnvelopeJson } from '@keyward/core';
import { canary, expectNoCanary } from '@keyward/test-support';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startKmsEmulator, startVaultDevServer, type KmsEmulator, type VaultDevServer } from '@keyward/testing';
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

const kekEnvOf = (kms: KmsEmulator) => ({
  KEYWARD_KEK: 'aws-kms:alias/notes',
  AWS_REGION: kms.region,
  AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
});

describe('keyward envelope (seal, open, count, re-wrap, rotate)', () => {
  let vault: VaultDevServer;
  let kms: KmsEmulator;

  beforeAll(async () => {
    [vault, kms, dir] = await Promise.all([startVaultDevServer(), startKmsEmulator(), mkdtemp(join(tmpdir(), 'keyward-cli-envelope-'))]);
  });

  afterAll(async () => {
    await Promise.all([vault?.close(), kms?.close(), dir && rm(dir, { recursive: true, force: true })]);
    const texts = Object.fromEntries(
      runs.flatMap((r, i) => [
        [`run ${i} (${r.args.slice(0, 2).join(' ')}) stderr`, r.stderr],
        // decrypt exists to print the plaintext; nothing else may.
        ...(r.args[1] === 'decrypt' && r.code === 0 ? [] : [[`run ${i} (${r.args.slice(0, 2).join(' ')}) stdout`, r.stdout]]),
      ]),
    );
    expectNoCanary(texts, PLAINTEXT);
    const all = Object.fromEntries(runs.flatMap((r, i) => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]));
    expectNoCanary(all, KEY_V1, KEY_V2, vault.rootToken, kms.credentials.secretAccessKey);
  });

  /**
   * The operator's rotation on a KEK in a key service: seal through the CLI, rotate-kek, rewrap the
   * file, open what moved; the same steps for every backend.
   */
  function describeRotation(name: string, kekEnv: () => Record<string, string>, extra: (file: () => string) => void) {
    describe(name, () => {
      let path: string;

      it('encrypt, rotate-kek, rewrap: every envelope moves to the new version and still opens; a second rewrap does nothing', async () => {
        const env = kekEnv();
        const lines: string[] = [];
        for (const id of ['1', '2', '3']) {
          const sealed = await keyward(['envelope', 'encrypt', '--context', 'table=notes', '--context', `id=${id}`], { stdin: `${PLAINTEXT}-${id}`, env });
          expect(sealed).toMatchObject({ code: 0, stderr: '' });
          lines.push(JSON.stringify({ id, envelope: sealed.stdout.trim(), context: { table: 'notes', id } }));
        }
        path = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
        await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
        const before = JSON.parse((await keyward(['envelope', 'inspect', '--file', path, '--json'])).stdout) as { byKek: { keyVersion: string; count: number }[] };
        expect(before.byKek).toEqual([expect.objectContaining({ count: 3 })]);
        const first = before.byKek[0]!.keyVersion;

        const rotated = await keyward(['envelope', 'rotate-kek', '--json'], { env });
        expect(rotated).toMatchObject({ code: 0, stderr: '' });
        const { previousVersion, currentVersion } = JSON.parse(rotated.stdout) as { previousVersion: string; currentVersion: string };
        expect(previousVersion).toBe(first);
        expect(currentVersion).not.toBe(first);

        const run = await keyward(['envelope', 'rewrap', '--file', path], { env });
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ currentVersion, seen: 3, rewrapped: 3, alreadyCurrent: 0, failed: 0, failures: [], written: true });
        const after = (await readFile(path, 'utf8')).trimEnd().split('\n');
        after.forEach((line, i) => {
          const [old, now] = [parseEnvelope((JSON.parse(lines[i]!) as { envelope: string }).envelope), parseEnvelope((JSON.parse(line) as { envelope: string }).envelope)];
          expect(now.kek.keyVersion).toBe(currentVersion);
          expect(now.iv.equals(old.iv) && now.ciphertext.equals(old.ciphertext)).toBe(true);
        });
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        const opened = await keyward(['envelope', 'decrypt', '--context', 'table=notes', '--context', 'id=2'], { stdin: (JSON.parse(after[1]!) as { envelope: string }).envelope, env });
        expect(opened).toMatchObject({ code: 0, stdout: `${PLAINTEXT}-2\n` });

        const again = await keyward(['envelope', 'rewrap', '--file', path], { env });
        expect(JSON.parse(again.stdout)).toMatchObject({ rewrapped: 0, alreadyCurrent: 3, written: false });

        // Text output: the new version alone on stdout, for scripts.
        const text = await keyward(['envelope', 'rotate-kek'], { env });
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^\S+\n$/);
        expect(text.stdout.trim()).not.toBe(currentVersion);
        expect(text.stderr).toContain(`(was ${currentVersion})`);
        expect(await keyward(['envelope', 'rotate-kek', '--generate'], { env })).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('--generate is for a local KEK only') });
      });

      extra(() => path);
    });
  }

  describeRotation(
    'a vault-transit KEK',
    () => ({ KEYWARD_KEK: 'vault-transit:notes@transit', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken }),
    (file) => {
      beforeAll(async () => {
        const call = (path: string, body: object) =>
          fetch(`${vault.url}/v1/${path}`, { method: 'POST', headers: { 'X-Vault-Token': vault.rootToken }, body: JSON.stringify(body) }).then((r) => expect(r.ok).toBe(true));
        await call('sys/mounts/transit', { type: 'transit' });
        await call('transit/keys/notes', { derived: true });
      });

      it('a sealed Vault stops rewrap with KEK_UNAVAILABLE, the file untouched; a missing key is named', async () => {
        const env = { KEYWARD_KEK: 'vault-transit:notes', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken };
        const before = await readFile(file());
        vault.seal();
        try {
          const run = await keyward(['envelope', 'rewrap', '--file', file()], { env });
          expect(run).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: KEK_UNAVAILABLE: /m) });
        } finally {
          vault.unseal();
        }
        expect((await readFile(file())).equals(before)).toBe(true);
        const missing = await keyward(['envelope', 'rotate-kek'], { env: { ...env, KEYWARD_KEK: 'vault-transit:nope' } });
        expect(missing).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: CONFIG_INVALID: .*"nope"/) });
      });
    },
  );

  describeRotation(
    'an aws-kms KEK (an alias)',
    // AWS_ENDPOINT_URL: KMS's own variable is not needed when the general one points at it.
    () => ({ ...kekEnvOf(kms), AWS_ENDPOINT_URL: kms.endpoint }),
    (file) => {
      beforeAll(async () => {
        const client = new KMSClient({ region: kms.region, endpoint: kms.endpoint, credentials: kms.credentials });
        const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
        await client.send(new CreateAliasCommand({ AliasName: 'alias/notes', TargetKeyId: KeyMetadata!.KeyId! }));
        client.destroy();
      });

      it('KMS refusing a ReEncrypt stops rewrap (exit 1, the code on stderr, the summary on stdout), keeping what was done; the config file names the endpoint', async () => {
        const folder = join(dir, 'kms-config');
        await mkdir(join(folder, '.keyward'), { recursive: true });
        const config = { kek: 'aws-kms:alias/notes', aws: { region: kms.region, kmsEndpoint: kms.endpoint, accessKeyId: kms.credentials.accessKeyId, secretAccessKey: kms.credentials.secretAccessKey } };
        await writeFile(join(folder, '.keyward', 'cli.json'), JSON.stringify(config), { mode: 0o600 });
        const rotated = await keyward(['envelope', 'rotate-kek', '--json'], { cwd: folder });
        expect(rotated.code).toBe(0);
        const { currentVersion } = JSON.parse(rotated.stdout) as { currentVersion: string };

        // Two in flight: one is refused, which stops the run; the other finishes and is written.
        kms.failNext(1, 'AccessDeniedException', 'ReEncrypt');
        const run = await keyward(['envelope', 'rewrap', '--file', file(), '--concurrency', '2'], { cwd: folder });
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^keyward: PERMISSION_DENIED: .*kms:ReEncrypt/m);
        expect(JSON.parse(run.stdout)).toMatchObject({ currentVersion, rewrapped: 1, written: true, stoppedBy: 'PERMISSION_DENIED' });
        const versions = (await readFile(file(), 'utf8')).trimEnd().split('\n').map((l) => parseEnvelope((JSON.parse(l) as { envelope: string }).envelope).kek.keyVersion);
        expect(versions.filter((v) => v === currentVersion)).toHaveLength(1);

        const resumed = await keyward(['envelope', 'rewrap', '--file', file()], { cwd: folder });
        expect(JSON.parse(resumed.stdout)).toMatchObject({ currentVersion, rewrapped: 2, alreadyCurrent: 1, failed: 0, written: true });
      });

      it('a KMS that does not answer: KEK_UNAVAILABLE, nothing else said', async () => {
        const run = await keyward(['envelope', 'encrypt'], { stdin: PLAINTEXT, env: { ...kekEnvOf(kms), AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' } });
        expect(run).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^keyward: KEK_UNAVAILABLE: [^\n]*\n$/) });
      });
    },
  );

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
        // Line 10: a record whose envelope is not one.
        originalLines = [notes[0]!, notes[1]!, records[0]!, '', records[1]!, json, tamperedParts.join('.'), 'not an envelope', notes[2]!, '{"id": 10, "envelope": 42}'];
        path = join(dir, 'notes.jsonl');
        await writeFile(path, `${originalLines.join('\n')}\n`);
        await chmod(path, 0o664); // group-writable: beyond the usual umask, so kept only by a chmod
      });

      it('inspect counts envelopes per KEK version from a file or stdin, and reports lines that are none', async () => {
        const run = await keyward(['envelope', 'inspect', '--file', path, '--json']);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout)).toEqual({
          envelopes: 7,
          byKek: [{ provider: 'local', keyId: 'local', keyVersion: '1', count: 7 }],
          unreadable: [
            { line: 8, code: 'ENVELOPE_MALFORMED' },
            { line: 10, code: 'ENVELOPE_MALFORMED' },
          ],
        });
        expect(run.stderr).toBe('keyward: ENVELOPE_MALFORMED: line 8 is not an envelope\nkeyward: ENVELOPE_MALFORMED: line 10 is not an envelope\n');
        // No KEK is read, nor any key service reached, even when one is named.
        const text = await keyward(['envelope', 'inspect', '--kek', 'vault-transit:unreachable'], { stdin: originalLines.slice(0, 7).concat(originalLines[8]!).join('\r\n') });
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
          seen: 9,
          rewrapped: 6,
          alreadyCurrent: 0,
          failed: 3,
          failures: [
            { line: 7, code: 'DECRYPT_FAILED' },
            { line: 8, code: 'ENVELOPE_MALFORMED' },
            { line: 10, id: 10, code: 'ENVELOPE_MALFORMED' },
          ],
          written: true,
          dryRun: false,
        });
        expect(run.stderr).toContain('rewrap: 9 seen, 6 re-wrapped, 0 already current, 3 failed\n');
        expect(run.stderr).toContain('keyward: DECRYPT_FAILED: line 7 was not re-wrapped (kept as it is)\n');

        const lines = (await readFile(path, 'utf8')).split('\n');
        expect(lines).toHaveLength(originalLines.length + 1);
        expect(lines.at(-1)).toBe('');
        expect((await stat(path)).mode & 0o777).toBe(0o664);
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
        expect([lines[3], lines[6], lines[7], lines[9]]).toEqual([originalLines[3], originalLines[6], originalLines[7], originalLines[9]]);

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
        expect(JSON.parse(run.stdout)).toMatchObject({ seen: 9, rewrapped: 0, alreadyCurrent: 6, failed: 3, written: false });
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
