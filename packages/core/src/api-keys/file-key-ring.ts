import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { KeywardError } from '../errors/index.js';
import { fromFsError } from '../providers/fs-errors.js';
import { emptyKeyRing, parseKeyRing, type KeyRing } from './key-ring.js';
import type { KeyRingBackend, StoredKeyRing } from './key-ring-backend.js';

/** Lock timings of `fileKeyRing()`, for writers that run at the same time. */
export interface FileKeyRingOptions {
  /** How long a writer waits for another writer's lock. Default 5 000 ms. */
  lockTimeoutMs?: number;
  /** A lock file older than this is left over from a crashed writer and is taken over. Default 30 000 ms. */
  staleLockMs?: number;
}

/**
 * A key ring kept in a JSON file (e.g. one an operator manages next to a Kubernetes-mounted
 * copy, or for development). The revision is the SHA-256 of the file's bytes. Writes take an
 * exclusive `<path>.lock` file, compare the revision, then replace the file atomically (write a
 * temporary file with mode 0600, fsync, rename), so a watching `fileProvider` never reads half a
 * ring.
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

  async function withLock<T>(work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + lockTimeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        const handle = await open(lockPath, 'wx', 0o600);
        await handle.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(err, `key ring lock ${lockPath}`);
        if (await isStale(lockPath, staleLockMs)) {
          await rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() >= deadline) {
          throw new KeywardError('KEY_RING_CONFLICT', `key ring file ${path} is locked by another writer (${lockPath})`);
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lockPath, { force: true });
    }
  }

  async function write(ring: KeyRing, expected: string | undefined): Promise<string> {
    const text = `${JSON.stringify(parseKeyRing(ring), null, 2)}\n`;
    return withLock(async () => {
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

async function isStale(lockPath: string, staleLockMs: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs > staleLockMs;
  } catch {
    return false; // released meanwhile: try again
  }
}
