import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KeywardError } from '../errors/index.js';
import { canary, closeAfterEach, expectNoCanary, mountLikeKubelet, nextEvent, swapLikeKubelet, thrown } from '@keyward/test-support';
import { SecretStore, type SecretRotatedEvent } from '../store/index.js';
import { fileProvider, fileProviderWith } from './file.provider.js';
import type { SecretRef } from './secret-provider.js';

const ref = (name: string): SecretRef => ({ name, path: `app/production/${name}`, app: 'app', environment: 'production' });
const signal = new AbortController().signal;

const mkfifo = (path: string) => promisify(execFile)('mkfifo', [path]);

describe('fileProvider', () => {
  let root: string;
  const track = closeAfterEach();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'keyward-file-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function fileStore<const S extends Record<string, object>>(secrets: S) {
    const store = new SecretStore({ app: 'app', environment: 'production', providers: { production: fileProvider({ root }) }, secrets, refresh: false });
    track(store);
    return store;
  }

  describe('a Kubernetes-mounted Secret', () => {
    it('reads the folder as { key: value }, following the symlinks and skipping hidden entries', async () => {
      await mountLikeKubelet(join(root, 'database'), { username: 'app\n', password: 'hunter2\n' });
      await expect(fileProvider({ root }).read(ref('database'), { signal })).resolves.toEqual({ value: { username: 'app', password: 'hunter2' } });
    });

    it("emits rotated within 1 s of the kubelet's ..data swap, with refresh off", async () => {
      const dir = join(root, 'database');
      const oldPassword = canary();
      const newPassword = canary();
      await mountLikeKubelet(dir, { username: 'app', password: oldPassword });
      const store = await fileStore({ database: {} }).start();
      expect(store.get('database').reveal()).toEqual({ username: 'app', password: oldPassword });

      const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated', 1000);
      await swapLikeKubelet(dir, { username: 'app', password: newPassword }, '..2026_01_01_00_00_00.000', '..2026_02_01_00_00_00.000');
      const event = await rotated;
      expect(event.name).toBe('database');
      expect(event.reason).toBe('watch');
      expect(event.previous.version).not.toBe(event.current.version);
      expect(event.current.reveal()).toEqual({ username: 'app', password: newPassword });
      expect(store.get('database').reveal()).toEqual({ username: 'app', password: newPassword });
    });

    it.each([
      ['kept for a while', false, 'one'],
      ['removed at once, as the kubelet does', true, 'two'],
    ])('reads every key of one version when ..data is swapped between two keys (old folder %s)', async (_label, removeOld, expected) => {
      const dir = join(root, 'database');
      await mountLikeKubelet(dir, { a: 'one-a', b: 'one-b', c: 'one-c' });
      let swapped = false;
      const provider = fileProviderWith(
        { root },
        {
          afterKey: async () => {
            if (swapped) return;
            swapped = true;
            await swapLikeKubelet(dir, { a: 'two-a', b: 'two-b', c: 'two-c' }, '..2026_01_01_00_00_00.000', '..2026_02_01_00_00_00.000', removeOld);
          },
        },
      );
      await expect(provider.read(ref('database'), { signal })).resolves.toEqual({ value: { a: `${expected}-a`, b: `${expected}-b`, c: `${expected}-c` } });
      expect(swapped).toBe(true);
    });

    it('also notices the swap for a secret that is one key file of the mounted folder', async () => {
      const oldKey = canary();
      const newKey = canary();
      await mountLikeKubelet(root, { apiKey: oldKey, other: 'x' });
      const store = await fileStore({ apiKey: {} }).start();
      expect(store.get('apiKey').reveal()).toBe(oldKey);

      const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated', 1000);
      await swapLikeKubelet(root, { apiKey: newKey, other: 'x' }, '..2026_01_01_00_00_00.000', '..2026_02_01_00_00_00.000');
      expect((await rotated).current.reveal()).toBe(newKey);
    });
  });

  it('reads a single file as a string, dropping one trailing newline', async () => {
    await writeFile(join(root, 'token'), 'abc\n\n');
    await writeFile(join(root, 'crlf'), 'abc\r\n');
    await writeFile(join(root, 'plain'), 'abc');
    const provider = fileProvider({ root });
    await expect(provider.read(ref('token'), { signal })).resolves.toEqual({ value: 'abc\n' });
    await expect(provider.read(ref('crlf'), { signal })).resolves.toEqual({ value: 'abc' });
    await expect(provider.read(ref('plain'), { signal })).resolves.toEqual({ value: 'abc' });
    await expect(fileProvider({ root, trimTrailingNewline: false }).read(ref('token'), { signal })).resolves.toEqual({ value: 'abc\n\n' });
  });

  it('skips sub-folders inside a secret folder', async () => {
    await mkdir(join(root, 'tls', 'nested'), { recursive: true });
    await writeFile(join(root, 'tls', 'tls.crt'), 'CERT');
    await writeFile(join(root, 'tls', 'nested', 'x'), 'ignored');
    await expect(fileProvider({ root }).read(ref('tls'), { signal })).resolves.toEqual({ value: { 'tls.crt': 'CERT' } });
  });

  it('maps a secret to its file with `location`, and locates it by absolute path', async () => {
    await mkdir(join(root, 'production'));
    await writeFile(join(root, 'production', 'stripe'), 'sk');
    const provider = fileProvider({ root, location: (r) => `${r.environment}/stripe` });
    await expect(provider.read(ref('stripeKey'), { signal })).resolves.toEqual({ value: 'sk' });
    expect(provider.locate(ref('stripeKey'))).toBe(join(root, 'production', 'stripe'));
  });

  it('refuses a file over maxFileBytes with SECRET_INVALID, naming the file and not quoting it', async () => {
    const value = canary();
    await writeFile(join(root, 'big'), value);
    const err = (await fileProvider({ root, maxFileBytes: 8 }).read(ref('big'), { signal }).catch((e: unknown) => e)) as KeywardError;
    expect(err).toBeInstanceOf(KeywardError);
    expect(err.code).toBe('SECRET_INVALID');
    expect(err.message).toContain(join(root, 'big'));
    expect(err.message).not.toContain(value);
    // The limit applies to each key file of a folder too.
    await mountLikeKubelet(join(root, 'database'), { password: value });
    await expect(fileProvider({ root, maxFileBytes: 8 }).read(ref('database'), { signal })).rejects.toMatchObject({ code: 'SECRET_INVALID' });
    expect(thrown(() => fileProvider({ root, maxFileBytes: Number.NaN })).code).toBe('CONFIG_INVALID');
  });

  describe('only regular files inside root', () => {
    let outside: string;
    let writer: ChildProcess | undefined;
    beforeEach(async () => {
      outside = await mkdtemp(join(tmpdir(), 'keyward-outside-'));
    });
    afterEach(async () => {
      // The whole group: `yes` and `head` may still wait to open the FIFO.
      try {
        if (writer?.pid !== undefined) process.kill(-writer.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      writer = undefined;
      await rm(outside, { recursive: true, force: true });
    });

    it('refuses a FIFO whose writer pushes far more than maxFileBytes, with SECRET_INVALID and nothing of the stream', async () => {
      const value = canary();
      const fifo = join(root, 'token');
      await mkfifo(fifo);
      // 5 MB of the canary into the FIFO, against a 1 KiB limit.
      writer = spawn('sh', ['-c', 'yes "$1" | head -c 5000000 > "$2"', 'sh', value, fifo], { stdio: 'ignore', detached: true });
      const err = (await fileProvider({ root, maxFileBytes: 1024 }).read(ref('token'), { signal }).catch((e: unknown) => e)) as KeywardError;
      expect(err).toBeInstanceOf(KeywardError);
      expect(err.code).toBe('SECRET_INVALID');
      expect(err.message).toContain(fifo);
      expect(err.message).toContain('not a regular file');
      expectNoCanary({ message: err.message, json: JSON.stringify(err) }, value);
    });

    it('refuses a FIFO with no writer at once instead of hanging, alone or as a key of a folder', async () => {
      await mkfifo(join(root, 'token'));
      await expect(fileProvider({ root }).read(ref('token'), { signal })).rejects.toMatchObject({ code: 'SECRET_INVALID' });
      await mkdir(join(root, 'database'));
      await writeFile(join(root, 'database', 'username'), 'app');
      await mkfifo(join(root, 'database', 'password'));
      await expect(fileProvider({ root }).read(ref('database'), { signal })).rejects.toMatchObject({ code: 'SECRET_INVALID' });
    });

    it('refuses a Unix socket as not a regular file', async () => {
      const server = createServer();
      await new Promise<void>((done) => server.listen(join(root, 'socket'), done));
      try {
        const err = (await fileProvider({ root }).read(ref('socket'), { signal }).catch((e: unknown) => e)) as KeywardError;
        expect([err.code, err.message]).toEqual(['SECRET_INVALID', expect.stringContaining('not a regular file')]);
      } finally {
        await new Promise((done) => server.close(done));
      }
    });

    it('refuses a symlink that leads out of root with PERMISSION_DENIED, without reading it', async () => {
      const value = canary();
      await writeFile(join(outside, 'stolen'), value);
      await mkdir(join(outside, 'folder'));
      await writeFile(join(outside, 'folder', 'password'), value);
      await symlink('/etc/passwd', join(root, 'passwd'));
      await symlink(join(outside, 'stolen'), join(root, 'token'));
      await symlink(join(outside, 'folder'), join(root, 'linkedFolder'));
      await mkdir(join(root, 'database'));
      await writeFile(join(root, 'database', 'username'), 'app');
      await symlink(join(outside, 'stolen'), join(root, 'database', 'password'));
      // A Kubernetes-looking folder whose ..data leads out.
      await mkdir(join(root, 'mounted'));
      await symlink(join(outside, 'folder'), join(root, 'mounted', '..data'));
      await symlink(join('..data', 'password'), join(root, 'mounted', 'password'));

      const provider = fileProvider({ root });
      for (const name of ['passwd', 'token', 'linkedFolder', 'database', 'mounted']) {
        const err = (await provider.read(ref(name), { signal }).catch((e: unknown) => e)) as KeywardError;
        expect([name, err.code]).toEqual([name, 'PERMISSION_DENIED']);
        expect(err.message).toContain('outside');
        expectNoCanary({ message: err.message, json: JSON.stringify(err) }, value);
      }
      const escaping = fileProvider({ root, location: () => join('..', 'x') });
      await expect(escaping.read(ref('x'), { signal })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    });

    it('still reads a root given through a symlink, and symlinks that stay inside root', async () => {
      await mkdir(join(outside, 'real'));
      await mountLikeKubelet(join(outside, 'real', 'database'), { password: 'pw' });
      await writeFile(join(outside, 'real', 'token'), 'tok');
      await symlink('token', join(outside, 'real', 'alias'));
      const linkedRoot = join(outside, 'mount');
      await symlink(join(outside, 'real'), linkedRoot);
      const provider = fileProvider({ root: linkedRoot });
      await expect(provider.read(ref('database'), { signal })).resolves.toEqual({ value: { password: 'pw' } });
      await expect(provider.read(ref('alias'), { signal })).resolves.toEqual({ value: 'tok' });
    });
  });

  it('says SECRET_NOT_FOUND for a missing path, and for a folder with no key files', async () => {
    const provider = fileProvider({ root });
    const missing = (await provider.read(ref('nope'), { signal }).catch((e: unknown) => e)) as KeywardError;
    expect(missing.code).toBe('SECRET_NOT_FOUND');
    expect(missing.message).toContain(join(root, 'nope'));
    await mkdir(join(root, 'empty', '..hidden'), { recursive: true });
    await writeFile(join(root, 'empty', '.dotfile'), 'x');
    await expect(provider.read(ref('empty'), { signal })).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('fails start-up naming the missing file path', async () => {
    await writeFile(join(root, 'present'), 'ok');
    const store = fileStore({ present: {}, absent: {} });
    const err = (await store.start().catch((e: unknown) => e)) as KeywardError & { problems: { secret: string; location: string; code: string }[] };
    expect(err.code).toBe('SECRETS_UNAVAILABLE');
    expect(err.problems).toEqual([expect.objectContaining({ secret: 'absent', location: join(root, 'absent'), code: 'SECRET_NOT_FOUND' })]);
  });

  it('notices a single file replaced in place, and does not watch when watch is false', async () => {
    await writeFile(join(root, 'token'), 'one');
    const store = await fileStore({ token: {} }).start();
    const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated', 1000);
    await writeFile(join(root, 'token.tmp'), 'two');
    await rename(join(root, 'token.tmp'), join(root, 'token'));
    expect((await rotated).current.reveal()).toBe('two');
    expect(fileProvider({ root, watch: false }).watch).toBeUndefined();
  });
});
