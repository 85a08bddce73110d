import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` (debounced) when `target` changes. A directory is watched itself, which
 * catches the kubelet's atomic swap of the `..data` symlink; a file is watched through its
 * directory, so that editors and tools that replace the file (or the kubelet's `..data` swap
 * behind it) are seen too.
 * Returns a function that stops watching.
 */
export function watchPath(target: string, isDirectory: boolean, onChange: () => void, debounceMs = 25): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const name = basename(target);
  try {
    watcher = watch(isDirectory ? target : dirname(target), { persistent: false }, (_event, file) => {
      // A key file in a Kubernetes-mounted folder is a symlink through `..data`: the kubelet's
      // swap of `..data` changes it with no event under its own name.
      if (isDirectory || file === null || file === name || file === '..data') fire();
    });
    // A watched folder that disappears ends the watch; the store's interval refresh still runs.
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
