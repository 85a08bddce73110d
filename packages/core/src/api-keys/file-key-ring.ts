import { createHash, randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { KeywardError } from '../errors/index.js';
import { fromFsError } from '../providers/fs-errors.js';
import { emptyKeyRing, parseKeyRing, type KeyRing } from './key-ring.js';
import type { KeyRingBackend, StoredKeyRing } from './key-ring-backend.js';

/** Lock timings of `fileKeyRing()`, for writers that run at the same time. */
export interface FileKeyRingOptions {
  /** How long a writer waits for another writer's lock. Default 5 000 ms. */
  lockTimeoutMs?: number;
  /**
   * A lock file older than this is left over from a crashed writer and is taken over. A writer
   * that holds its lock longer finds it taken over and writes nothing (`KEY_RING_CONFLICT`).
   * Default 30 000 ms.
   */
  staleLockMs?: number;
}

/**
 * A key ring kept in a JSON file (e.g. one an operator manages next to a Kubernetes-mounted
 * copy, or for development). The revision is the SHA-256 of the file's bytes. Writes take an
 * exclusive `<path>.lock` file holding a random token of the writer's, compare the revision, then
 * replace the file atomically (write a temporary file with mode 0600, fsync, rename), so a
 * watching `fileProvider` never reads half a ring. A writer removes a lock only when it holds its
 * token, or when it saw that very token grow stale; it checks that it still holds its own just
 * before replacing the file.
 *
 * @example
 * const admin = keyRingAdmin({ backend: fileKeyRing('/etc/billing/api-keys.json'), pepper, env: 'live' });
 */
export function fileKeyRing(path: string, options: FileKeyRingOptions = {}): KeyRingBackend {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
  const staleLockMs = options.staleLockMs ?? 30_000;
  const lockPath = `${path}.lock`;

  async function read(): Promise<StoredKeyRing> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ring: emptyKeyRing(), revision: undefined };
      throw fromFsError(err, `key ring file ${path}`);
    }
    return { ring: parseKeyRing(bytes.toString('utf8')), revision: digest(bytes) };
  }

  /** The token in the lock file now; `undefined` when there is none. */
  async function lockToken(): Promise<string | undefined> {
    try {
      return await readFile(lockPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromFsError(err, `key ring lock ${lockPath}`);
    }
  }

  /**
   * Removes the lock only if it holds `token`: moves it aside under a unique name (atomic, so the
   * check below reads exactly what was removed), checks the token, and puts back a lock that turns
   * out to be another writer's. Resolves to whether it removed it.
   */
  async function removeLockHolding(token: string): Promise<boolean> {
    const aside = `${lockPath}.${randomBytes(6).toString('hex')}.aside`;
    try {
      await rename(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fromFsError(err, `key ring lock ${lockPath}`);
    }
    try {
      if ((await readFile(aside, 'utf8')) === token) return true;
      // A live lock, taken after we looked: back in place, its time and token untouched. Should a
      // third writer have taken the free name meanwhile, the owner finds its token gone and
      // writes nothing.
      await link(aside, lockPath).catch(() => {});
      return false;
    } finally {
      await rm(aside, { force: true });
    }
  }

  /** The lock's token when it is older than `staleLockMs` (read before its age: a newer lock is never judged by an older one's). */
  async function staleToken(): Promise<string | undefined> {
    const token = await lockToken();
    if (token === undefined) return undefined;
    try {
      return Date.now() - (await stat(lockPath)).mtimeMs > staleLockMs ? token : undefined;
    } catch {
      return undefined; // released meanwhile: try again
    }
  }

  /** Takes the lock; resolves to this writer's token. */
  async function lock(): Promise<string> {
    const token = randomBytes(16).toString('hex');
    // Linked into place, so the lock file never exists without its token.
    const proposal = `${lockPath}.${token}`;
    try {
      await writeFile(proposal, token, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      throw fromFsError(err, `key ring lock ${lockPath}`);
    }
    try {
      const deadline = Date.now() + lockTimeoutMs;
      for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
        try {
          await link(proposal, lockPath);
          return token;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(err, `key ring lock ${lockPath}`);
        }
        const stale = await staleToken();
        if (stale !== undefined) {
          await removeLockHolding(stale);
          continue;
        }
        if (Date.now() >= deadline) {
          throw new KeywardError('KEY_RING_CONFLICT', `key ring file ${path} is locked by another writer (${lockPath})`);
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } finally {
      await rm(proposal, { force: true });
    }
  }

  async function withLock<T>(work: (stillHeld: () => Promise<void>) => Promise<T>): Promise<T> {
    const token = await lock();
    const stillHeld = async () => {
      if ((await lockToken()) !== token) {
        throw new KeywardError('KEY_RING_CONFLICT', `key ring file ${path}: this writer held its lock past staleLockMs and another took it over; nothing was written`);
      }
    };
    try {
      return await work(stillHeld);
    } finally {
      if ((await lockToken().catch(() => undefined)) === token) await removeLockHolding(token).catch(() => {});
    }
  }

  async function write(ring: KeyRing, expected: string | undefined): Promise<string> {
    const text = `${JSON.stringify(parseKeyRing(ring), null, 2)}\n`;
    return withLock(async (stillHeld) => {
      const { revision } = await read();
      if (revision !== expected) throw new KeywardError('KEY_RING_CONFLICT', `key ring file ${path} changed since it was read`);
      const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        const handle = await open(temporary, 'wx', 0o600);
        try {
          await handle.writeFile(text, 'utf8');
          await handle.sync();
        } finally {
          await handle.close();
        }
        await stillHeld();
        await rename(temporary, path);
      } catch (err) {
        await rm(temporary, { force: true });
        throw fromFsError(err, `key ring file ${path}`);
      }
      return digest(Buffer.from(text, 'utf8'));
    });
  }

  return { location: `file ${path}`, read, write };
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
