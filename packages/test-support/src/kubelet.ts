import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Lays out `dir` as the kubelet mounts a Secret: a timestamped folder, `..data` pointing at it, and a symlink per key. */
export async function mountLikeKubelet(dir: string, files: Record<string, string>, stamp = '..2026_01_01_00_00_00.000'): Promise<void> {
  await mkdir(join(dir, stamp), { recursive: true });
  for (const [key, value] of Object.entries(files)) await writeFile(join(dir, stamp, key), value);
  await symlink(stamp, join(dir, '..data'));
  for (const key of Object.keys(files)) await symlink(join('..data', key), join(dir, key));
}

/** The kubelet's atomic update: new timestamped folder, `..data_tmp` → it, rename over `..data`, old folder removed. */
export async function swapLikeKubelet(dir: string, files: Record<string, string>, oldStamp: string, newStamp: string, removeOld = true): Promise<void> {
  await mkdir(join(dir, newStamp));
  for (const [key, value] of Object.entries(files)) await writeFile(join(dir, newStamp, key), value);
  await symlink(newStamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (removeOld) await rm(join(dir, oldStamp), { recursive: true, force: true });
}
