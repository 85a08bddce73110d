/** What a handler answers: a status and either a JSON value or a raw JSON text (no body for 204). */
export interface VaultReply {
  readonly status: number;
  readonly body?: unknown;
  /** Pre-serialised JSON (used where Vault's own encoder emits duplicate keys). */
  readonly rawJson?: string;
  /** A body that is not JSON (PKI's `ca/pem`, `crl/pem`), sent as is with its own Content-Type header. */
  readonly rawText?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A Vault error answer: `{"errors":[...]}` with Vault's status code. */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: readonly string[],
  ) {
    super(errors[0] ?? `HTTP ${status}`);
    this.name = 'VaultHttpError';
  }
}

/** How go-multierror prints one error, as Vault returns errors wrapped by its request handler. */
export function multiError(message: string): string {
  return `1 error occurred:\n\t* ${message}\n\n`;
}

/** 403 for a missing, unknown or expired token. */
export const permissionDenied = (): VaultHttpError => new VaultHttpError(403, ['permission denied']);
/** 403 for a valid token whose policies do not grant the capability. */
export const policyDenied = (): VaultHttpError => new VaultHttpError(403, [multiError('permission denied')]);
/** 400 with one message (a backend's `logical.ErrorResponse`). */
export const badRequest = (message: string): VaultHttpError => new VaultHttpError(400, [message]);
/** 404 with no message: a read of nothing. */
export const notFound = (): VaultHttpError => new VaultHttpError(404, []);
export const unsupportedPath = (): VaultHttpError => new VaultHttpError(404, [multiError('unsupported path')]);
export const unsupportedOperation = (): VaultHttpError => new VaultHttpError(405, [multiError('unsupported operation')]);
export const sealedError = (): VaultHttpError => new VaultHttpError(503, ['Vault is sealed']);

export function errorReply(err: VaultHttpError): VaultReply {
  return { status: err.status, body: { errors: [...err.errors] } };
}

export const noContent = (): VaultReply => ({ status: 204 });

/** The `auth` block of a login or token-create answer. */
export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  identity_policies?: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: string;
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

export interface EnvelopeFields {
  readonly requestId: string;
  readonly mountType: string;
  readonly data?: Record<string, unknown> | null;
  readonly leaseId?: string;
  readonly renewable?: boolean;
  readonly leaseDuration?: number;
  readonly warnings?: string[] | null;
  readonly auth?: AuthBlock | null;
  /** The system backend also copies `data`'s keys to the top level (Vault's HTTPSysInjector). */
  readonly injectData?: boolean;
  readonly status?: number;
}

/** Vault's success envelope (`logical.HTTPResponse`) in its field order. */
export function envelope(f: EnvelopeFields): VaultReply {
  const body = {
    request_id: f.requestId,
    lease_id: f.leaseId ?? '',
    renewable: f.renewable ?? false,
    lease_duration: f.leaseDuration ?? 0,
    data: f.data ?? null,
    wrap_info: null,
    warnings: f.warnings && f.warnings.length > 0 ? f.warnings : null,
    auth: f.auth ?? null,
    mount_type: f.mountType,
  };
  const status = f.status ?? 200;
  if (!f.injectData || !f.data || Object.keys(f.data).length === 0) return { status, body };
  // Go writes each data key first, then the envelope's keys: a clash yields duplicate keys, as on a real server.
  const head = Object.entries(f.data)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v ?? null)}`)
    .join(',');
  return { status, body, rawJson: `{${head},${JSON.stringify(body).slice(1)}` };
}

/** Go's `json.Unmarshal` into `map[string]interface{}`: Vault's message for a body it cannot read. */
export function parseJsonBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VaultHttpError(400, [`failed to parse JSON input: ${goJsonSyntaxError(text)}`]);
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'array' : typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'bool' : 'number';
    throw new VaultHttpError(400, [`failed to parse JSON input: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`]);
  }
  return value as Record<string, unknown>;
}

/** Translates V8's JSON.parse complaint into encoding/json's wording for the same byte. */
function goJsonSyntaxError(text: string): string {
  let message = '';
  try {
    JSON.parse(text);
  } catch (err) {
    message = (err as Error).message;
  }
  if (/end of JSON input/.test(message)) return 'unexpected EOF';
  const at = /position (\d+)/.exec(message);
  const token = /Unexpected token '(.)'/.exec(message);
  const ch = at ? text[Number(at[1])] ?? '' : token?.[1] ?? text.trim()[0] ?? '';
  if (/Expected property name/.test(message)) return `invalid character '${ch}' looking for beginning of object key string`;
  if (/non-whitespace character after JSON/.test(message)) return `invalid character '${ch}' after top-level value`;
  if (/after property value/.test(message)) return `invalid character '${ch}' after object key:value pair`;
  if (/after property name/.test(message)) return `invalid character '${ch}' after object key`;
  if (/after array element/.test(message)) return `invalid character '${ch}' after array element`;
  return `invalid character '${ch}' looking for beginning of value`;
}
