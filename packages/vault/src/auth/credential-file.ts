import { readFile } from 'node:fs/promises';
import { KeywardError } from '@keyward/core';

/** Reads a credential from a file (a mounted secret_id, a service-account JWT), without its trailing newline. Never quotes it. */
export async function readCredentialFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new KeywardError('CONFIG_INVALID', `${what} file ${path} cannot be read (${typeof code === 'string' ? code : 'error'})`);
  }
  const value = text.trim();
  if (value.length === 0) throw new KeywardError('CONFIG_INVALID', `${what} file ${path} is empty`);
  return value;
}

/** A credential given as a value or as a file to read at each login (so a rotated file is picked up). */
export async function credential(value: string | undefined, file: string | undefined, what: string): Promise<string | undefined> {
  if (value !== undefined) return value;
  if (file !== undefined) return readCredentialFile(file, what);
  return undefined;
}
