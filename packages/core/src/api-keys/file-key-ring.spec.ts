import { AsyncLocalStorage } from 'node:async_hooks';
import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

/**
 * Two writers in one process, told apart by an AsyncLocalStorage: the spec pauses each at a
 * chosen file operation and resumes it when it wants, so the interleaving is the same every run.
 */
const writer = new AsyncLocalStorage<string>();
type Pause = { who: string; op: 'rm' | 'rename' | 'open'; matches: (path: string) => boolean; reached: () => void; resume: Promise<void> };
let pauses: Pause[] = [];

async function pauseIfAsked(op: Pause['op'], path: unknown): Promise<void> {
  const who = writer.getStore();
  const index = pauses.findIndex((p) => p.who === who && p.op === op && p.matches(String(path)));
  if (index < 0) return;
  const [pause] = pauses.splice(index, 1);
  pause!.reached();
  await pause!.resume;
}

jest.unstable_mockModule('node:fs/promises', () => ({
  ...realFs,
  default: realFs,
  rm: async (path: string, options?: Parameters<typeof realFs.rm>[1]) => {
    await pauseIfAsked('rm', path);
    return realFs.rm(path, options);
  },
  rename: async (from: string, to: string) => {
    await pauseIfAsked('rename', from);
    return realFs.rename(from, to);
  },
  open: async (path: string, ...rest: unknown[]) => {
    await pauseIfAsked('open', path);
    return (realFs.open as (...args: unknown[]) => ReturnType<typeof realFs.open>)(path, ...rest);
  },
}));

const { fileKeyRing } = await import('./file-key-ring.js');
const { emptyKeyRing } = await import('./key-ring.js');

/** Pauses `who` at its first `op` on a path `matches` accepts; `reached` resolves when it gets there. */
function pauseAt(who: string, op: Pause['op'], matches: (path: string) => boolean) {
  let reached!: () => void;
  let resume!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  pauses.push({ who, op, matches, reached, resume: new Promise<void>((resolve) => (resume = resolve)) });
  return { reached: arrived, resume };
}

let dir: string;
let path: string;
let lockPath: string;
beforeEach(async () => {
  pauses = [];
  dir = await realFs.mkdtemp(join(tmpdir(), 'keyward-file-ring-'));
  path = join(dir, 'api-keys.json');
  lockPath = `${path}.lock`;
});
afterEach(async () => realFs.rm(dir, { recursive: true, force: true }));

const settled = <T>(promise: Promise<T>) => promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

describe('fileKeyRing lock', () => {
  it('a writer taking over a stale lock never removes the live lock another writer took over first', async () => {
    // A crashed writer left its lock behind, long enough ago to be stale.
    await realFs.writeFile(lockPath, 'crashed-writer');
    const old = new Date(Date.now() - 60_000);
    await realFs.utimes(lockPath, old, old);

    // A finds the lock stale and is paused just before it clears it.
    const aClears = pauseAt('A', 'rename', (p) => p === lockPath);
    const aRemoves = pauseAt('A', 'rm', (p) => p === lockPath);
    const a = settled(writer.run('A', () => fileKeyRing(path, { lockTimeoutMs: 300 }).write(emptyKeyRing(), undefined)));
    await Promise.race([aClears.reached, aRemoves.reached]);

    // Meanwhile B clears the stale lock itself, takes the lock and is paused inside its write.
    const bWrites = pauseAt('B', 'open', (p) => p.endsWith('.tmp'));
    const b = settled(writer.run('B', () => fileKeyRing(path).write({ version: 1, keys: [] }, undefined)));
    await bWrites.reached;
    const bLock = await realFs.readFile(lockPath, 'utf8');

    // A goes on: it must see that the lock is now B's, live, and leave it alone.
    aClears.resume();
    aRemoves.resume();
    const aResult = await a;
    expect(await realFs.readFile(lockPath, 'utf8')).toBe(bLock); // B's lock is still in place while B writes
    expect(aResult).toMatchObject({ ok: false, error: { code: 'KEY_RING_CONFLICT' } });

    bWrites.resume();
    expect(await b).toMatchObject({ ok: true, value: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // B's release removed its own lock.
    await expect(realFs.stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a writer whose lock was taken over (it held it past staleLockMs) neither commits nor removes the new owner\'s lock', async () => {
    // A takes the lock and is paused inside its write for longer than the stale limit.
    const aWrites = pauseAt('A', 'open', (p) => p.endsWith('.tmp'));
    const a = settled(writer.run('A', () => fileKeyRing(path).write(emptyKeyRing(), undefined)));
    await aWrites.reached;
    const old = new Date(Date.now() - 60_000);
    await realFs.utimes(lockPath, old, old);

    // B takes the stale lock over and is paused inside its own write.
    const bWrites = pauseAt('B', 'open', (p) => p.endsWith('.tmp'));
    const b = settled(writer.run('B', () => fileKeyRing(path).write({ version: 1, keys: [] }, undefined)));
    await bWrites.reached;
    const bLock = await realFs.readFile(lockPath, 'utf8');

    // A resumes: it no longer holds the lock, so it must not replace the ring nor release B's lock.
    aWrites.resume();
    expect(await a).toMatchObject({ ok: false, error: { code: 'KEY_RING_CONFLICT', message: expect.stringContaining('lock') } });
    expect(await realFs.readFile(lockPath, 'utf8')).toBe(bLock);
    await expect(realFs.stat(path)).rejects.toMatchObject({ code: 'ENOENT' }); // A wrote nothing

    bWrites.resume();
    expect(await b).toMatchObject({ ok: true });
    await expect(realFs.stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts a token of its own in the lock file, never a ring value', async () => {
    const aWrites = pauseAt('A', 'open', (p) => p.endsWith('.tmp'));
    const a = settled(writer.run('A', () => fileKeyRing(path).write(emptyKeyRing(), undefined)));
    await aWrites.reached;
    const token = await realFs.readFile(lockPath, 'utf8');
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const stats = await realFs.stat(lockPath);
    expect(stats.mode & 0o077).toBe(0);
    aWrites.resume();
    expect(await a).toMatchObject({ ok: true });
    // Nothing left beside the ring: no lock, no token file, no temporary.
    expect((await realFs.readdir(dir)).sort()).toEqual(['api-keys.json']);
  });
});
