import { statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KeywardError } from '../errors/index.js';
import { fromFsError } from './fs-errors.js';
import { readFolder, readText, realPathWithin, type MountedRead } from './mounted-files.js';
import type { SecretProvider, SecretRef } from './secret-provider.js';
import { watchPath } from './watch-path.js';

/** Options of `fileProvider()`: the mounted folder (a Kubernetes Secret volume), file names, watching. */
export interface FileProviderOptions {
  /** The folder under which secrets are mounted (e.g. `/var/run/secrets/app`). */
  readonly root: string;
  /** Declared secret → its file or folder under `root` (default: the secret's name). */
  readonly location?: (ref: SecretRef) => string;
  /** Notice changes at once, including the kubelet's `..data` swap (default `true`). */
  readonly watch?: boolean;
  /** Drop one trailing newline from each file, as `echo` leaves one (default `true`). */
  readonly trimTrailingNewline?: boolean;
  /** Refuse files larger than this, in bytes (default 1 MiB, Kubernetes' own limit for a Secret); checked on the bytes read. */
  readonly maxFileBytes?: number;
}

/**
 * Reads secrets mounted as files, as Kubernetes mounts a Secret: a folder per secret with
 * a file per key gives `{ key: value }`; a single file gives a string. Hidden entries
 * (`..data`, `..2026_...`) are skipped. Changes are noticed through a watch.
 *
 * Only regular files are read (a FIFO, socket or device is `SECRET_INVALID`, and never blocks a
 * read), and only inside `root`: a path whose symlinks lead out of it is `PERMISSION_DENIED`.
 * The kubelet's own links (`key -> ..data/key`, `..data -> ..2026_...`) stay inside and work; a
 * folder's keys are all read from the one version `..data` pointed at when the read began.
 *
 * @example
 * // volumeMounts: [{ name: db, mountPath: /var/run/secrets/app/database }]
 * providers: { production: fileProvider({ root: '/var/run/secrets/app' }) }
 */
export function fileProvider(options: FileProviderOptions): SecretProvider {
  return fileProviderWith(options, {});
}

/** Points inside a read where a test steps in (not public: `fileProvider` passes none). */
export interface FileReadHooks {
  /** After each key file of a folder is read, before the next one. */
  readonly afterKey?: (key: string) => void | Promise<void>;
}

/** `fileProvider` with test hooks. */
export function fileProviderWith(options: FileProviderOptions, hooks: FileReadHooks): SecretProvider {
  const root = resolve(options.root);
  const location = options.location ?? ((ref: SecretRef) => ref.name);
  const trim = options.trimTrailingNewline ?? true;
  const maxBytes = options.maxFileBytes ?? 1024 * 1024;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
    throw new KeywardError('CONFIG_INVALID', `maxFileBytes must be a whole number of 0 or more (got ${String(maxBytes)})`);
  }
  const pathOf = (ref: SecretRef) => resolve(root, location(ref));

  return {
    kind: 'file',
    locate: (ref) => pathOf(ref),
    async read(ref) {
      const target = pathOf(ref);
      try {
        // The root is resolved on every read: a mount point that is itself a symlink may move.
        const read: MountedRead = { root, realRoot: await realpath(root), maxBytes, trim, afterKey: hooks.afterKey };
        const real = await realPathWithin(target, target, read);
        if (!(await stat(real)).isDirectory()) return { value: await readText(real, target, read) };
        const value = await readFolder(real, target, read);
        if (Object.keys(value).length === 0) throw new KeywardError('SECRET_NOT_FOUND', `${target} holds no key files`);
        return { value };
      } catch (err) {
        if (KeywardError.is(err)) throw err;
        throw fromFsError(err, target);
      }
    },
    watch:
      options.watch === false
        ? undefined
        : (ref, onChange) => {
            const target = pathOf(ref);
            // Decided once, synchronously, so that no change slips in before the watch is set.
            let isDirectory = false;
            try {
              isDirectory = statSync(target).isDirectory();
            } catch {
              // Not there yet: watch for its name in the parent folder.
            }
            return watchPath(target, isDirectory, onChange);
          },
  };
}
