import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KeywardError } from '@keyward/core';
import type { CliIo, Output } from './io.js';

/** The JSON config file (`--config`, `KEYWARD_CONFIG` or `./.keyward/cli.json`). */
export interface CliConfigFile {
  readonly ring?: string;
  readonly pepper?: string;
  /** Where the audit key is (`keyward audit`), in the pepper's forms. */
  readonly auditKey?: string;
  /** The envelope's key-encryption key (`keyward envelope`): `local:LOCATION`, `aws-kms:KEY_ID`, `vault-transit:KEY[@MOUNT]`. */
  readonly kek?: string;
  readonly env?: string;
  readonly redis?: string;
  readonly vault?: { readonly addr?: string; readonly token?: string; readonly namespace?: string };
  /** `accessKeyId`/`secretAccessKey` are for emulators and local stand-ins; real accounts use the SDK's default chain. */
  readonly aws?: {
    readonly region?: string;
    readonly endpoint?: string;
    /** KMS's endpoint (an `aws-kms:` KEK), when it is not `endpoint`'s: a VPC endpoint, an emulator. */
    readonly kmsEndpoint?: string;
    readonly accessKeyId?: string;
    readonly secretAccessKey?: string;
  };
}

/** Everything a command needs to reach the ring, resolved as flag > environment > config file. */
export interface CliSettings {
  readonly ring: string | undefined;
  readonly pepper: string | undefined;
  readonly auditKey: string | undefined;
  readonly kek: string | undefined;
  readonly env: string;
  readonly redis: string | undefined;
  readonly vault: { readonly addr: string | undefined; readonly token: string | undefined; readonly namespace: string | undefined };
  readonly aws: {
    readonly region: string | undefined;
    readonly endpoint: string | undefined;
    readonly kmsEndpoint: string | undefined;
    /** From `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` in the run's environment; otherwise the SDK's default chain. */
    readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  };
  /** The config file used, if any (for messages). */
  readonly configFile: string | undefined;
}

/** The options every command accepts to say where things are. */
export interface LocationFlags {
  readonly ring?: string | undefined;
  readonly pepper?: string | undefined;
  readonly auditKey?: string | undefined;
  readonly kek?: string | undefined;
  readonly env?: string | undefined;
  readonly redis?: string | undefined;
  readonly config?: string | undefined;
}

const DEFAULT_CONFIG = '.keyward/cli.json';

/**
 * Resolves the settings of one run: each from its flag, else its environment variable, else the
 * config file (`--config`, else `KEYWARD_CONFIG`, else `./.keyward/cli.json` when it exists).
 *
 * @example
 * const settings = await resolveSettings({ ring: 'file:./api-keys.json' }, io, output);
 */
export async function resolveSettings(flags: LocationFlags, io: CliIo, output: Output): Promise<CliSettings> {
  const { file, configFile } = await loadConfig(flags.config ?? nonEmpty(io.env['KEYWARD_CONFIG']), io, output);
  const env = (name: string) => nonEmpty(io.env[name]);
  // A pair from the environment wins over the config file's; neither: the SDK's default chain.
  const fromEnv = env('AWS_ACCESS_KEY_ID') !== undefined && env('AWS_SECRET_ACCESS_KEY') !== undefined;
  const accessKeyId = fromEnv ? env('AWS_ACCESS_KEY_ID') : file.aws?.accessKeyId;
  const secretAccessKey = fromEnv ? env('AWS_SECRET_ACCESS_KEY') : file.aws?.secretAccessKey;
  const sessionToken = fromEnv ? env('AWS_SESSION_TOKEN') : undefined;
  const settings: CliSettings = {
    ring: flags.ring ?? env('KEYWARD_RING') ?? file.ring,
    pepper: flags.pepper ?? env('KEYWARD_PEPPER') ?? file.pepper,
    auditKey: flags.auditKey ?? env('KEYWARD_AUDIT_KEY') ?? file.auditKey,
    kek: flags.kek ?? env('KEYWARD_KEK') ?? file.kek,
    env: flags.env ?? env('KEYWARD_KEY_ENV') ?? file.env ?? 'live',
    redis: flags.redis ?? env('KEYWARD_REDIS_URL') ?? file.redis,
    vault: {
      addr: env('VAULT_ADDR') ?? file.vault?.addr,
      token: env('VAULT_TOKEN') ?? file.vault?.token,
      namespace: env('VAULT_NAMESPACE') ?? file.vault?.namespace,
    },
    aws: {
      region: env('AWS_REGION') ?? env('AWS_DEFAULT_REGION') ?? file.aws?.region,
      endpoint: env('AWS_ENDPOINT_URL_SECRETS_MANAGER') ?? env('AWS_ENDPOINT_URL') ?? file.aws?.endpoint,
      kmsEndpoint: env('AWS_ENDPOINT_URL_KMS') ?? env('AWS_ENDPOINT_URL') ?? file.aws?.kmsEndpoint,
      credentials:
        accessKeyId !== undefined && secretAccessKey !== undefined
          ? { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) }
          : undefined,
    },
    configFile,
  };
  output.hide(settings.vault.token);
  output.hide(secretAccessKey);
  output.hide(sessionToken);
  return settings;
}

async function loadConfig(explicit: string | undefined, io: CliIo, output: Output): Promise<{ file: CliConfigFile; configFile: string | undefined }> {
  const path = resolve(io.cwd, explicit ?? DEFAULT_CONFIG);
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mode)]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (explicit === undefined && code === 'ENOENT') return { file: {}, configFile: undefined };
    throw new KeywardError(code === 'EACCES' || code === 'EPERM' ? 'PERMISSION_DENIED' : 'CONFIG_INVALID', `cannot read the config file ${path} (${code ?? 'error'})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // No cause and no JSON.parse message: it may quote the file, which may hold a token.
    throw new KeywardError('CONFIG_INVALID', `the config file ${path} is not valid JSON`);
  }
  const file = checkConfig(doc, path);
  output.hide(file.vault?.token);
  output.hide(file.aws?.secretAccessKey);
  if ((file.vault?.token !== undefined || file.aws?.secretAccessKey !== undefined) && (mode & 0o077) !== 0) {
    output.err(`keyward: warning: ${path} holds credentials and is readable by others (chmod 600 ${path})\n`);
  }
  return { file, configFile: path };
}

function checkConfig(doc: unknown, path: string): CliConfigFile {
  const bad = (what: string) => new KeywardError('CONFIG_INVALID', `the config file ${path}: ${what}`);
  if (!isRecord(doc)) throw bad('must be a JSON object');
  const known = new Set(['ring', 'pepper', 'auditKey', 'kek', 'env', 'redis', 'vault', 'aws', '$schema']);
  for (const key of Object.keys(doc)) if (!known.has(key)) throw bad(`unknown key "${key}" (known: ring, pepper, auditKey, kek, env, redis, vault, aws)`);
  for (const key of ['ring', 'pepper', 'auditKey', 'kek', 'env', 'redis'] as const) {
    if (doc[key] !== undefined && typeof doc[key] !== 'string') throw bad(`"${key}" must be a string`);
  }
  const section = (name: 'vault' | 'aws', fields: readonly string[]) => {
    const value = doc[name];
    if (value === undefined) return;
    if (!isRecord(value)) throw bad(`"${name}" must be an object`);
    for (const key of Object.keys(value)) {
      if (!fields.includes(key)) throw bad(`unknown key "${name}.${key}" (known: ${fields.join(', ')})`);
      if (typeof value[key] !== 'string') throw bad(`"${name}.${key}" must be a string`);
    }
  };
  section('vault', ['addr', 'token', 'namespace']);
  section('aws', ['region', 'endpoint', 'kmsEndpoint', 'accessKeyId', 'secretAccessKey']);
  return doc as CliConfigFile;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
