import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { KeywardError } from '../errors/index.js';

// O_NONBLOCK: opening a FIFO with no writer returns at once instead of holding a thread forever.
// O_NOFOLLOW: the path was resolved just before; a symlink put there since is refused.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
// For a file named by the user (a `.env`), whose symlink is theirs to make.
const OPEN_FOLLOWING = constants.O_RDONLY | constants.O_NONBLOCK;

/** How one read of the file provider reads: the root it must stay in, the size cap, a hook for tests. */
export interface MountedRead {
  /** The root as configured, for messages. */
  readonly root: string;
  /** The root with every symlink resolved, once per read. */
  readonly realRoot: string;
  readonly maxBytes: number;
  /** Drop one trailing newline from each file. */
  readonly trim: boolean;
  readonly afterKey?: ((key: string) => void | Promise<void>) | undefined;
}

/** `path` with every symlink resolved; PERMISSION_DENIED if that leaves the root (a link to /etc/passwd). */
export async function realPathWithin(path: string, shown: string, read: MountedRead): Promise<string> {
  // Checked on the path as written first (under the root as configured or as resolved):
  // nothing outside the root is even looked at.
  if (!isInside(read.root, path) && !isInside(read.realRoot, path)) throw outside(shown, read);
  const real = await realpath(path);
  if (!isInside(read.realRoot, real)) throw outside(shown, read);
  return real;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

function outside(shown: string, read: MountedRead): KeywardError {
  return new KeywardError('PERMISSION_DENIED', `${shown} resolves outside ${read.root}, so it is not read`);
}

/**
 * The text of a regular file of at most `maxBytes`: the type is checked on the opened handle and the
 * cap on the bytes read, so a FIFO, a device or a file that grows after a `stat` cannot get past.
 */
export async function readText(real: string, shown: string, read: MountedRead): Promise<string> {
  const text = await readRegularFile(real, shown, read.maxBytes);
  return read.trim ? text.replace(/\r?\n$/, '') : text;
}

/**
 * The UTF-8 text of the regular file at `path`, of at most `maxBytes` (SECRET_INVALID otherwise,
 * and for a FIFO, socket or device). `followLinks` allows a symlink as the last part of the path.
 */
export async function readRegularFile(path: string, shown: string, maxBytes: number, followLinks = false): Promise<string> {
  const handle = await open(path, followLinks ? OPEN_FOLLOWING : OPEN_FLAGS);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new KeywardError('SECRET_INVALID', `${shown} is ${kindOf(info)}, not a regular file`);
    // The size is only a first guess (a file may grow): the cap holds on the bytes read, and
    // room for one byte more than the cap is what proves a file over it.
    let buffer = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) break;
        const larger = Buffer.alloc(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(larger);
        buffer.fill(0);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    try {
      if (length > maxBytes) throw new KeywardError('SECRET_INVALID', `${shown} is over the ${maxBytes}-byte limit`);
      return buffer.toString('utf8', 0, length);
    } finally {
      buffer.fill(0);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A folder's key files as `{ key: text }`; sub-folders and hidden entries are skipped. A
 * Kubernetes mount (`key -> ..data/key`, `..data -> ..2026_...`) is read through ONE resolution
 * of `..data`, so the kubelet's swap of `..data` during the read cannot mix two versions; if the
 * version resolved is removed meanwhile, the read starts over on the new one.
 */
export async function readFolder(real: string, shown: string, read: MountedRead): Promise<Record<string, string>> {
  for (let attempt = 1; ; attempt++) {
    const version = await kubeletVersion(real, shown, read);
    try {
      return await readKeys(version ?? real, shown, read);
    } catch (err) {
      const gone = (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      if (version === undefined || !gone || attempt >= 3 || (await kubeletVersion(real, shown, read)) === version) throw err;
    }
  }
}

/** The timestamped folder `..data` points at now, or undefined for a folder that is not a Kubernetes mount. */
async function kubeletVersion(real: string, shown: string, read: MountedRead): Promise<string | undefined> {
  const data = join(real, '..data');
  try {
    await lstat(data);
  } catch (err) {
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw err;
  }
  return realPathWithin(data, join(shown, '..data'), read);
}

async function readKeys(folder: string, shown: string, read: MountedRead): Promise<Record<string, string>> {
  const names = (await readdir(folder)).filter((name) => !name.startsWith('.')).sort((a, b) => a.localeCompare(b));
  const value: Record<string, string> = {};
  for (const name of names) {
    const shownKey = join(shown, name);
    const file = await realPathWithin(join(folder, name), shownKey, read);
    if ((await stat(file)).isDirectory()) continue;
    value[name] = await readText(file, shownKey, read);
    await read.afterKey?.(name);
  }
  return value;
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isDirectory()) return 'a folder';
  return 'something else';
}
