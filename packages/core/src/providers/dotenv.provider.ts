import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { KeywardError } from '../errors/index.js';
import { fromFsError } from './fs-errors.js';
import { readRegularFile } from './mounted-files.js';
import { toEnvName, valueFromVariables } from './naming.js';
import type { SecretProvider, SecretRef } from './secret-provider.js';
import { watchPath } from './watch-path.js';

/** Options of `dotenvProvider()`: the file, the name mapping, and the environments it may run in. */
export interface DotenvProviderOptions {
  /** The file (default `.env` in the working directory). */
  readonly path?: string;
  /** Declared name → variable name (default: `stripeKey` → `STRIPE_KEY`). */
  readonly mapName?: (ref: SecretRef) => string;
  /** Environments it agrees to run in (default `['development', 'test']`). */
  readonly allowedEnvironments?: readonly string[];
  /** Run even in `production`. A `.env` file in production is usually a mistake: say so on purpose. */
  readonly allowInProduction?: boolean;
  /** Re-read and notify when the file changes (default `true`). */
  readonly watch?: boolean;
  /** The largest file it reads, in bytes (default 1 MiB); a larger one, or one that is not a regular file, is `SECRET_INVALID`. */
  readonly maxFileBytes?: number;
}

/**
 * Reads secrets from a `.env` file, for development. Refuses to start in other environments
 * unless told, so a stray `.env` never becomes production's source of truth.
 *
 * @example
 * providers: { development: dotenvProvider({ path: 'apps/api/.env' }), production: vault }
 */
export function dotenvProvider(options: DotenvProviderOptions = {}): SecretProvider {
  const file = resolve(options.path ?? '.env');
  const mapName = options.mapName ?? ((ref: SecretRef) => toEnvName(ref.name));
  const allowed = options.allowedEnvironments ?? ['development', 'test'];
  const maxBytes = options.maxFileBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new KeywardError('CONFIG_INVALID', 'dotenvProvider: maxFileBytes must be a whole number of bytes, 0 or more');
  }
  // One parse per version of the file, however many secrets read it at once.
  let cached: { key: string; variables: Promise<Record<string, string>> } | undefined;

  const load = async (): Promise<Record<string, string>> => {
    let key: string;
    try {
      const info = await stat(file);
      key = `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (err) {
      throw fromFsError(err, `file ${file}`);
    }
    if (cached?.key !== key) {
      // A regular file only, capped on the bytes read: a FIFO named .env must not block a thread.
      const variables = readRegularFile(file, `file ${file}`, maxBytes, true).then(
        (text) => parseEnv(text) as Record<string, string>,
        (err: unknown) => {
          cached = undefined;
          throw KeywardError.is(err) ? err : fromFsError(err, `file ${file}`);
        },
      );
      cached = { key, variables };
    }
    return cached.variables;
  };

  return {
    kind: 'dotenv',
    locate: (ref) => `${file} ${mapName(ref)}`,
    start({ environment }) {
      const ok = allowed.includes(environment) || (environment === 'production' && options.allowInProduction === true);
      if (!ok) {
        throw new KeywardError(
          'PROVIDER_REFUSED',
          `the dotenv provider does not run in "${environment}" (allowed: ${allowed.join(', ')}); use a secrets manager there, or pass allowInProduction / allowedEnvironments on purpose`,
        );
      }
    },
    async read(ref) {
      const varName = mapName(ref);
      const value = valueFromVariables(await load(), varName);
      if (value === undefined) {
        throw new KeywardError('SECRET_NOT_FOUND', `${varName} (or ${varName}__<KEY>) is not set in ${file}`);
      }
      return { value };
    },
    watch: options.watch === false ? undefined : (_ref, onChange) => watchPath(file, false, onChange),
  };
}
