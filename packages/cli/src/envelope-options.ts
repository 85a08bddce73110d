import { createEnvelope, KeywardError, type EncryptionContext, type Envelope } from '@keyward/core';
import type { CommandContext, OptionSpecs } from './commands.js';
import { resolveSettings } from './config.js';
import { openKek, type OpenedKek } from './envelope-kek.js';
import { UsageError } from './io.js';
import { Resources } from './locations.js';

/** Options every command that needs the KEK takes. */
export const KEK_OPTIONS = {
  kek: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export const CONTEXT_OPTIONS = {
  context: { type: 'string', multiple: true },
  'context-json': { type: 'string' },
} as const satisfies OptionSpecs;

export const CONTEXT_HELP = `  --context KEY=VALUE   one pair of the encryption context (repeatable): --context table=notes --context id=42.
                        Decrypting and re-wrapping need the same pairs. Never secret: key services log them.
  --context-json JSON   the whole context as a JSON object instead: '{"table":"notes","id":"42"}'`;

/** Shown under every envelope command's help: where the KEK is. */
export const FOOTER = `Which key-encryption key (flag > environment variable > config file):
  --kek SPEC      local:[KEY_ID=]LOCATION    a key set {"1": "<base64 32 bytes>", "2": ..., "min_decryption_version": "1"}
                                             at env:NAME, file:PATH, vault:MOUNT/PATH[#field] or aws:SECRET_ID[#field];
                                             key id "local" unless KEY_ID= names another (the app's localKek keyId)
                  aws-kms:KEY_ID             a KMS key id, key ARN or alias/NAME
                  vault-transit:KEY[@MOUNT]  a derived transit key (mount "transit" unless @MOUNT)   (KEYWARD_KEK, "kek")
  --config FILE   JSON config (default: KEYWARD_CONFIG, else ./.keyward/cli.json when it exists)
Vault: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE ("vault": { "addr", "token", "namespace" }).
AWS: AWS_REGION; KMS at AWS_ENDPOINT_URL_KMS, else AWS_ENDPOINT_URL ("aws": { "region", "kmsEndpoint" }),
     credentials from the SDK's default chain (or "aws": { "accessKeyId", "secretAccessKey" } for an emulator).`;

/** Runs `work` with the KEK of the settings; closes every connection afterwards. */
export async function withKek<T>(context: CommandContext, work: (opened: OpenedKek) => Promise<T>): Promise<T> {
  const { values, io, output } = context;
  const settings = await resolveSettings({ kek: str(values['kek']), config: str(values['config']) }, io, output);
  const resources = new Resources(settings, io, output);
  try {
    return await work(await openKek(settings, resources, output));
  } finally {
    await resources.close();
  }
}

/** `withKek`, with an envelope over the KEK (no cache: a command seals or opens a handful). */
export function withEnvelope<T>(context: CommandContext, work: (envelope: Envelope, opened: OpenedKek) => Promise<T>): Promise<T> {
  return withKek(context, async (opened) => {
    const envelope = createEnvelope({ kek: opened.kek });
    try {
      return await work(envelope, opened);
    } finally {
      envelope.close();
    }
  });
}

/** The encryption context of `--context KEY=VALUE`... or `--context-json`; `undefined` for none. */
export function contextOf(context: CommandContext): EncryptionContext | undefined {
  const pairs = context.lists['context'] ?? [];
  const json = str(context.values['context-json']);
  if (pairs.length > 0 && json !== undefined) throw new UsageError('give the context as --context pairs or as --context-json, not both', context.usage);
  if (json !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(json);
    } catch {
      doc = undefined;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Object.values(doc).every((v) => typeof v === 'string')) {
      throw new UsageError(`--context-json takes a JSON object of string values, e.g. '{"table":"notes","id":"42"}'`, context.usage);
    }
    return doc as EncryptionContext;
  }
  if (pairs.length === 0) return undefined;
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError('--context takes KEY=VALUE, e.g. --context table=notes', context.usage);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(result, key)) throw new UsageError(`--context "${key}" is given twice`, context.usage);
    result[key] = pair.slice(eq + 1);
  }
  return result;
}

/** A failed read or write of the envelope file, as a KeywardError naming the path. */
export function fileError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new KeywardError('CONFIG_INVALID', `no file at ${path}`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new KeywardError('PERMISSION_DENIED', `cannot read or write ${path} (${code})`, { cause: err });
  return err;
}

export function integerOf(context: CommandContext, name: string, fallback: number, min: number, max: number): number {
  const text = str(context.values[name]);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name} takes a whole number from ${min} to ${max}`, context.usage);
  return Number(text);
}

export function required(context: CommandContext, name: string): string {
  const value = str(context.values[name]);
  if (value === undefined) throw new UsageError(`missing --${name}`, context.usage);
  return value;
}

export function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
