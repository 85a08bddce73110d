import type { VaultRequest } from './backend.js';
import { envelope, multiError, VaultHttpError, type VaultReply } from './http-envelope.js';

/** One item of `batch_input` (or the single request's fields), before base64 decoding. */
export interface BatchItem {
  readonly context: string;
  readonly plaintext: string;
  readonly ciphertext: string;
  readonly nonce: string;
  readonly keyVersion: number;
  readonly associatedData: string;
  readonly reference: string;
}

const STRING_FIELDS = ['context', 'ciphertext', 'plaintext', 'nonce', 'associated_data', 'reference'] as const;

/** `%T` of a value decoded by Vault's JSON reader (numbers arrive as json.Number). */
function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return 'json.Number';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/**
 * `decodeBatchRequestItems` of path_encrypt.go: each field checked for its type, `plaintext` (encrypt)
 * or `ciphertext` (decrypt) required; all problems in one mapstructure-style error. Vault answers a
 * failure with 500 `failed to parse batch input: ...`.
 */
export function decodeBatchItems(raw: unknown, required: 'plaintext' | 'ciphertext' | undefined): BatchItem[] {
  const fail = (message: string) => new VaultHttpError(500, [multiError(`failed to parse batch input: ${message}`)]);
  if (!Array.isArray(raw)) throw fail(`source data must be an array or slice, got ${goType(raw)}`);
  const problems: string[] = [];
  const items = raw.map((entry, i): BatchItem => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(`[${i}] expected a map, got '${goType(entry)}'`);
    const o = entry as Record<string, unknown>;
    const text: Record<string, string> = {};
    for (const field of STRING_FIELDS) {
      const v = o[field];
      if (!(field in o)) {
        if (field === required) problems.push(`'[${i}].${field}' missing ${field} to ${field === 'plaintext' ? 'encrypt' : 'decrypt'}`);
      } else if (typeof v === 'string') text[field] = v;
      // Vault skips a JSON null everywhere but in `plaintext`.
      else if (v !== null || field === 'plaintext') problems.push(`'[${i}].${field}' expected type 'string', got unconvertible type '${goType(v)}'`);
    }
    let keyVersion = 0;
    const kv = o.key_version;
    if (typeof kv === 'number') {
      if (Number.isInteger(kv)) keyVersion = kv;
      else problems.push(`error decoding json.Number into [${i}].key_version: strconv.ParseInt: parsing "${kv}": invalid syntax`);
    } else if (kv !== undefined && kv !== null) {
      problems.push(`'[${i}].key_version' expected type 'int', got unconvertible type '${goType(kv)}'`);
    }
    return {
      context: text.context ?? '',
      plaintext: text.plaintext ?? '',
      ciphertext: text.ciphertext ?? '',
      nonce: text.nonce ?? '',
      keyVersion,
      associatedData: text.associated_data ?? '',
      reference: text.reference ?? '',
    };
  });
  if (problems.length > 0) {
    const points = problems.map((p) => `* ${p}`).sort();
    throw fail(`${problems.length} error(s) decoding:\n\n${points.join('\n')}`);
  }
  return items;
}

/** The single request's fields as one batch item. */
export function singleItem(req: VaultRequest): BatchItem {
  const f = req.fields;
  return {
    context: f.string('context'),
    plaintext: f.string('plaintext'),
    ciphertext: f.string('ciphertext'),
    nonce: f.string('nonce'),
    keyVersion: f.int('key_version', 0),
    associatedData: f.string('associated_data'),
    reference: '',
  };
}

/** How one batch went: which kinds of failure it had, and whether anything succeeded. */
export interface BatchOutcome {
  successes: boolean;
  userErrors: boolean;
  internalErrors: boolean;
}

/**
 * `batchRequestResponse`: 200 when every item worked; otherwise 400 (a user error) or 500 (only
 * internal errors), or `partial_failure_response_code` when some items worked. Vault then sends the
 * body it built itself (`RespondWithStatusCode`), whose `mount_type` is empty.
 */
export function batchReply(req: VaultRequest, data: Record<string, unknown>, outcome: BatchOutcome, mountType: string): VaultReply {
  if (!outcome.userErrors && !outcome.internalErrors) return envelope({ requestId: req.requestId, mountType, data });
  let status = outcome.userErrors ? 400 : 500;
  const warnings: string[] = [];
  if (req.fields.has('partial_failure_response_code') && outcome.successes) {
    const asked = req.fields.int('partial_failure_response_code');
    if (asked < 1 || asked > 599) warnings.push(`invalid HTTP response code override from partial_failure_response_code, reverting to ${status}`);
    else status = asked;
  }
  return envelope({ requestId: req.requestId, mountType: '', data, status, warnings });
}
