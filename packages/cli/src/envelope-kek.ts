import { DescribeKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { awsKmsKek } from '@keyward/aws';
import { KeywardError, localKek, type KekProvider, type KeywardErrorCode, type RawSecretValue } from '@keyward/core';
import { vaultTransitKek } from '@keyward/vault';
import type { CliSettings } from './config.js';
import type { Output } from './io.js';
import type { Resources } from './locations.js';

/** The forms of `--kek`, for messages and help. */
export const KEK_FORMS = 'local:[KEY_ID=]LOCATION, aws-kms:KEY_ID, vault-transit:KEY[@MOUNT]';

/** A `--kek` spec taken apart. */
export type KekSpec =
  | { readonly kind: 'local'; readonly keyId: string; readonly location: string }
  | { readonly kind: 'aws-kms'; readonly keyId: string }
  | { readonly kind: 'vault-transit'; readonly key: string; readonly mount: string };

/**
 * Parses `--kek`: `local:[KEY_ID=]LOCATION` (a key set at a pepper-style location, key id `local`
 * unless named), `aws-kms:KEY_ID` (key id, ARN or alias/NAME), `vault-transit:KEY[@MOUNT]`.
 *
 * @example
 * parseKekSpec('vault-transit:notes@transit-eu') // { kind: 'vault-transit', key: 'notes', mount: 'transit-eu' }
 */
export function parseKekSpec(spec: string): KekSpec {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? '' : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  const invalid = (why: string) => new KeywardError('CONFIG_INVALID', `the KEK ${why} (expected ${KEK_FORMS})`);
  switch (kind) {
    case 'local': {
      // A key id is a plain name before '='; 'file:./a=b.json' has a ':' first and is all location.
      const named = /^([A-Za-z0-9_.-]{1,128})=(.+)$/s.exec(rest);
      const location = named ? named[2]! : rest;
      if (location === '') throw invalid('local: needs the location of its key set, e.g. local:file:./kek.json');
      return { kind, keyId: named ? named[1]! : 'local', location };
    }
    case 'aws-kms':
      if (rest === '') throw invalid('aws-kms: needs a key id, key ARN or alias/NAME');
      return { kind, keyId: rest };
    case 'vault-transit': {
      // The last '@' starts the mount: a key named a@b on the default mount is vault-transit:a@b@transit.
      const at = rest.lastIndexOf('@');
      const [key, mount] = at < 0 ? [rest, 'transit'] : [rest.slice(0, at), rest.slice(at + 1).replace(/^\/+|\/+$/g, '')];
      if (key === '') throw invalid('vault-transit: needs a transit key name');
      if (mount === '' || mount.split('/').some((s) => s === '' || s === '.' || s === '..')) throw invalid('vault-transit: has an empty or relative @MOUNT');
      return { kind, key, mount };
    }
    default:
      // Not quoted: a key pasted where its name belongs must not be echoed.
      throw invalid(kind === '' ? 'has no kind' : 'has an unknown kind');
  }
}

/** The KEK of one run: the provider, what to call it in messages, and how to rotate it. */
export interface OpenedKek {
  readonly spec: KekSpec;
  readonly kek: KekProvider;
  /** `vault transit key "notes" (mount transit)`, `local key set "local" at file /srv/kek.json`. */
  readonly description: string;
  /** Makes a new version the current one in the backend; `undefined` for a local key set, which its operator edits. */
  readonly rotate: ((signal: AbortSignal) => Promise<void>) | undefined;
}

/**
 * Opens the KEK named by the settings (`--kek`, `KEYWARD_KEK`, "kek"). A local key set is read
 * once, and each of its keys registered with the output's scrubber. Connections belong to
 * `resources`, which the caller closes.
 */
export async function openKek(settings: CliSettings, resources: Resources, output: Output): Promise<OpenedKek> {
  if (settings.kek === undefined) {
    throw new KeywardError('CONFIG_INVALID', `no KEK: pass --kek (${KEK_FORMS}), set KEYWARD_KEK, or put "kek" in .keyward/cli.json`);
  }
  const spec = parseKekSpec(settings.kek);
  switch (spec.kind) {
    case 'local': {
      const read = await resources.secretValue(spec.location, 'KEK key set', 'no key set location');
      const keys = keySetOf(read.value, read.field, read.where, output);
      return { spec, kek: localKek({ keyId: spec.keyId, keys }), description: `local key set "${spec.keyId}" at ${read.where}`, rotate: undefined };
    }
    case 'aws-kms': {
      const client = resources.kmsClient();
      const kek = awsKmsKek({ client, keyId: spec.keyId });
      const rotate = async (signal: AbortSignal) => {
        try {
          // RotateKeyOnDemand takes a key id or key ARN only: an alias is resolved first.
          const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: spec.keyId }), { abortSignal: signal });
          await client.send(new RotateKeyOnDemandCommand({ KeyId: KeyMetadata?.Arn ?? spec.keyId }), { abortSignal: signal });
        } catch (err) {
          throw rotationError(err, spec.keyId);
        }
      };
      return { spec, kek, description: `KMS key ${spec.keyId}`, rotate };
    }
    case 'vault-transit': {
      const connection = resources.vaultConnection();
      const kek = vaultTransitKek({ connection, key: spec.key, mount: spec.mount });
      const path = `${spec.mount.split('/').map(encodeURIComponent).join('/')}/keys/${encodeURIComponent(spec.key)}/rotate`;
      const rotate = async (signal: AbortSignal) => {
        await connection.request({ method: 'POST', path, signal, doing: 'transit key rotation' }).catch((err: unknown) => {
          if (KeywardError.is(err, 'SECRET_NOT_FOUND')) throw new KeywardError('CONFIG_INVALID', `Vault has no transit key "${spec.key}" at ${spec.mount}/keys/${spec.key} (404)`, { cause: err });
          throw err;
        });
      };
      return { spec, kek, description: `transit key "${spec.key}" (mount ${spec.mount})`, rotate };
    }
  }
}

/** What DescribeKey's and RotateKeyOnDemand's exceptions mean for an operator; AWS's message names keys and quotas, never data. */
const ROTATION_CODES: Readonly<Record<string, KeywardErrorCode>> = {
  AccessDeniedException: 'PERMISSION_DENIED',
  UnrecognizedClientException: 'PERMISSION_DENIED',
  NotFoundException: 'CONFIG_INVALID',
  InvalidArnException: 'CONFIG_INVALID',
  UnsupportedOperationException: 'CONFIG_INVALID',
  DisabledException: 'KEK_DISABLED',
  KMSInvalidStateException: 'KEK_DISABLED',
  // The on-demand rotation quota of the key (10 in its life): waiting does not help.
  LimitExceededException: 'PROVIDER_REFUSED',
  ConflictException: 'PROVIDER_REFUSED',
};

function rotationError(err: unknown, keyId: string): KeywardError {
  const { name = 'Error', message = '' } = (err ?? {}) as { name?: string; message?: string };
  const code = ROTATION_CODES[name] ?? 'KEK_UNAVAILABLE';
  return new KeywardError(code, `KMS did not rotate ${keyId}: ${name}${message ? `: ${message.slice(0, 300)}` : ''}`);
}

const VERSION_FIELD = /^([1-9]\d{0,8}|min_decryption_version)$/;

/**
 * The key set out of what the location held: a JSON string (a file, a variable, a `#field`), or
 * a map of versions (a Vault KV secret whose fields are the versions), or a map with one field
 * holding the JSON. Every key in it is hidden from the output before anything else happens.
 */
function keySetOf(value: unknown, field: string | undefined, where: string, output: Output): RawSecretValue {
  const invalid = (why: string) => new KeywardError('SECRET_INVALID', `the KEK key set at ${where} ${why}`);
  let keys: unknown = value;
  if (isRecord(value) && field !== undefined) {
    if (!(field in value)) throw new KeywardError('SECRET_NOT_FOUND', `the KEK key set at ${where} has no field "${field}" (fields: ${Object.keys(value).join(', ') || 'none'})`);
    keys = value[field];
  } else if (field !== undefined) {
    throw invalid(`is a plain string, not a map with a "${field}" field: drop #${field}`);
  } else if (isRecord(value) && !Object.keys(value).every((k) => VERSION_FIELD.test(k))) {
    const names = Object.keys(value);
    if (names.length !== 1) throw invalid(`is a map of fields (${names.join(', ')}), not of versions: name the field holding the key set with #field`);
    keys = value[names[0]!];
  }
  if (typeof keys === 'string') {
    output.hide(keys);
    try {
      const parsed: unknown = JSON.parse(keys);
      if (isRecord(parsed)) for (const v of Object.values(parsed)) if (typeof v === 'string') output.hide(v);
    } catch {
      // localKek reports a key set that is not JSON, without quoting it.
    }
    return keys;
  }
  if (isRecord(keys) && Object.values(keys).every((v) => typeof v === 'string')) {
    for (const v of Object.values(keys)) output.hide(v as string);
    return keys as Record<string, string>;
  }
  throw invalid('is neither JSON text nor a map of versions to base64 keys');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
