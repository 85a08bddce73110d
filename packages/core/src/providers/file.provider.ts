import { statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KeywardError } from '../errors/index.js';
import { fromFsError } from './fs-errors.js';
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
  /** Refuse files larger than this, in bytes (default 1 MiB, Kubernetes' own limit for a Secret). */
  readonly maxFileBytes?: number;
}

/**
 * Reads secrets mounted as files, as Kubernetes mounts a Secret: a folder per secret with
 * a file per key gives `{ key: value }`; a single file gives a string. Hidden entries
 * (`..data`, `..2026_...`) are skipped. Changes are noticed through a watch.
 *
 * @example
 * // volumeMounts: [{ name: db, mountPath: /var/run/secrets/app/database }]
 * providers: { production: fileProvider({ root: '/var/run/secrets/app' }) }
 */
export function fileProvider(options: FileProviderOptions): SecretProvider {
  const root = resolve(options.root);
  const location = options.location ?? ((ref: SecretRef) => ref.name);
  const trim = options.trimTrailingNewline ?? true;
  const maxBytes = options.maxFileBytes ?? 1024 * 1024;
  const pathOf = (ref: SecretRef) => resolve(root, location(ref));

  const readOne = async (file: string): Promise<string> => {
    const info = await stat(file);
    if (info.size > maxBytes) {
      throw new KeywardError('SECRET_INVALID', `${file} is ${info.size} bytes, over the ${maxBytes}-byte limit`);
    }
    const text = await readFile(file, 'utf8');
    return trim ? text.replace(/\r?\n$/, '') : text;
  };

  return {
    kind: 'file',
    locate: (ref) => pathOf(ref),
    async read(ref) {
      const target = pathOf(ref);
      try {
        const info = await stat(target);
        if (!info.isDirectory()) return { value: await readOne(target) };
        const entries = (await readdir(target, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
        const value: Record<string, string> = {};
        for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
          const file = join(target, entry.name);
          // Kubernetes' keys are symlinks into ..data; follow them, skip sub-folders.
          if ((await stat(file)).isFile()) value[entry.name] = await readOne(file);
        }
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
