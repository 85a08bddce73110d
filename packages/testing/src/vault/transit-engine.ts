import { randomBytes } from 'node:crypto';
import { NAME, type Backend, type Route, type VaultRequest } from './backend.js';
import { badRequest, envelope, multiError, noContent, notFound, VaultHttpError, type VaultReply } from './http-envelope.js';
import { batchReply, decodeBatchItems, singleItem, type BatchItem, type BatchOutcome } from './transit-batch.js';
import { configureKey, createKey, deleteKey, keyTypeOf } from './transit-key-admin.js';
import { decodeBase64Field, TransitError, TransitKey } from './transit-keys.js';

const MOUNT_TYPE = 'transit';
const KEY_NOT_FOUND = 'encryption key not found';
const NONCE_NOT_ALLOWED = 'provided nonce not allowed for this key';

/** An item decoded and ready, or the error it already has. */
interface Prepared {
  readonly item: BatchItem;
  readonly context?: Buffer;
  readonly nonce?: Buffer;
  readonly plaintext?: Buffer;
  readonly error?: TransitError;
}

/**
 * The transit secrets engine of one mount (`vault secrets enable transit`), after
 * website/content/api-docs/secret/transit.mdx and builtin/logical/transit: named keys of the
 * symmetric AEAD types (aes128-gcm96, aes256-gcm96, chacha20-poly1305; derived and convergent
 * too) with create, read, list, config, rotate and delete; encrypt (with upsert), decrypt, rewrap,
 * datakey, single or `batch_input`; and `config/keys`. The signing, RSA and HMAC types, export,
 * backup, trim and sign/verify are not served. The crypto is real: AES-GCM or ChaCha20-Poly1305 per
 * version, HKDF-SHA256 per context for derived keys, `vault:v<N>:` + base64(nonce ‖ ciphertext ‖ tag).
 */
export function transitEngine(): Backend {
  const keys = new Map<string, TransitKey>();
  let disableUpsert = false;
  const ok = (req: VaultRequest, data: Record<string, unknown> | null, warnings?: string[]): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, data, ...(warnings ? { warnings } : {}) });
  const fail = (err: TransitError) => (err.internal ? new VaultHttpError(500, [multiError(err.message)]) : badRequest(err.message));
  const attempt = <T>(run: () => T): T | TransitError => {
    try {
      return run();
    } catch (err) {
      if (err instanceof TransitError) return err;
      throw err;
    }
  };

  /** The request's items (single or batch_input), each with its decoded fields or its first error. */
  const itemsOf = (req: VaultRequest, required: 'plaintext' | 'ciphertext' | undefined): Prepared[] => {
    const encrypting = required === 'plaintext';
    const raw = req.data.batch_input;
    let items: BatchItem[];
    if (raw !== undefined && raw !== null) {
      items = decodeBatchItems(raw, required);
      if (items.length === 0) throw badRequest('missing batch input to process');
    } else {
      if (encrypting && (req.data.plaintext === undefined || req.data.plaintext === null)) throw badRequest('missing plaintext to encrypt');
      if (!encrypting && req.fields.string('ciphertext') === '') throw badRequest('missing ciphertext to decrypt');
      items = [singleItem(req)];
    }
    const contextSet = items[0]!.context !== '';
    return items.map((item) => {
      if ((item.context === '') === contextSet) throw badRequest('context should be set either in all the request blocks or in none');
      if (!encrypting && item.ciphertext === '') return { item, error: new TransitError('missing ciphertext to decrypt') };
      const decoded = attempt(() => ({
        ...(encrypting ? { plaintext: decodeBase64Field(item.plaintext) } : {}),
        ...(item.context !== '' ? { context: decodeBase64Field(item.context) } : {}),
        ...(item.nonce !== '' ? { nonce: decodeBase64Field(item.nonce) } : {}),
      }));
      return decoded instanceof TransitError ? { item, error: decoded } : { item, ...decoded };
    });
  };

  /** Runs `work` on every item still without an error; answers one item's result or error, or the batch. */
  const answer = (
    req: VaultRequest,
    prepared: Prepared[],
    work: (p: Prepared) => Record<string, unknown>,
    { batchStatus, decrypting = false }: { batchStatus: boolean; decrypting?: boolean },
  ): VaultReply => {
    const outcome: BatchOutcome = { successes: false, userErrors: false, internalErrors: false };
    const results = prepared.map((p) => {
      const result = p.error ?? attempt(() => work(p));
      if (!(result instanceof TransitError)) {
        outcome.successes = true;
        return result;
      }
      if (result.internal) outcome.internalErrors = true;
      else outcome.userErrors = true;
      return result;
    });
    if (req.data.batch_input === undefined || req.data.batch_input === null) {
      const only = results[0]!;
      if (only instanceof TransitError) throw fail(only);
      return ok(req, only);
    }
    // Decrypt's batch items always carry `plaintext` (no omitempty), the others omit what they lack.
    const failed = (message: string) => (decrypting ? { plaintext: '', error: message } : { error: message });
    const batch = results.map((r, i) => ({ ...(r instanceof TransitError ? failed(r.message) : r), reference: prepared[i]!.item.reference }));
    if (!batchStatus) return ok(req, { batch_results: batch });
    return batchReply(req, { batch_results: batch }, outcome, MOUNT_TYPE);
  };

  const encrypt = (req: VaultRequest, name: string): VaultReply => {
    const prepared = itemsOf(req, 'plaintext');
    let key = keys.get(name);
    if (req.operation === 'create' && !key) {
      const contextSet = prepared[0]!.item.context !== '';
      const convergent = req.fields.bool('convergent_encryption', false);
      if (convergent && !contextSet) throw badRequest('convergent encryption requires derivation to be enabled, so context is required');
      const type = keyTypeOf(req.fields.string('type', 'aes256-gcm96'), true);
      if (!disableUpsert) {
        key = new TransitKey(name, { type, derived: contextSet, convergent, exportable: false, allowPlaintextBackup: false, autoRotateSeconds: 0 });
        keys.set(name, key);
      }
    }
    if (!key) throw badRequest(KEY_NOT_FOUND);
    const k = key;
    return answer(
      req,
      prepared,
      (p) => {
        if (p.item.nonce !== '') throw new TransitError(NONCE_NOT_ALLOWED);
        const { ciphertext, version } = k.encrypt(p.item.keyVersion, p.plaintext!, { context: p.context, associatedData: p.item.associatedData });
        return { ciphertext, key_version: version };
      },
      { batchStatus: true },
    );
  };

  const decrypt = (req: VaultRequest, name: string): VaultReply => {
    const prepared = itemsOf(req, 'ciphertext');
    const key = keys.get(name);
    if (!key) throw badRequest(KEY_NOT_FOUND);
    return answer(
      req,
      prepared,
      (p) => ({ plaintext: key.decrypt(p.item.ciphertext, { context: p.context, nonce: p.nonce, associatedData: p.item.associatedData }).toString('base64') }),
      { batchStatus: true, decrypting: true },
    );
  };

  /** Decrypts and encrypts again under `key_version` (default the latest), inside the engine: the plaintext never leaves. */
  const rewrap = (req: VaultRequest, name: string): VaultReply => {
    const prepared = itemsOf(req, undefined);
    const key = keys.get(name);
    if (!key) throw badRequest(KEY_NOT_FOUND);
    return answer(
      req,
      prepared,
      (p) => {
        if (p.item.nonce !== '') throw new TransitError(NONCE_NOT_ALLOWED);
        // Vault's rewrap reads no associated_data: a ciphertext made with some cannot be rewrapped.
        const plaintext = key.decrypt(p.item.ciphertext, { context: p.context });
        const { ciphertext, version } = key.encrypt(p.item.keyVersion, plaintext, { context: p.context });
        return { ciphertext, key_version: version };
      },
      { batchStatus: false },
    );
  };

  const datakey = (req: VaultRequest, kind: string, name: string): VaultReply => {
    if (kind !== 'plaintext' && kind !== 'wrapped') throw badRequest("Invalid path, must be 'plaintext' or 'wrapped'");
    const f = req.fields;
    const decode = (field: string) => {
      const text = f.string(field);
      if (text === '') return undefined;
      const value = attempt(() => decodeBase64Field(text));
      if (value instanceof TransitError) throw badRequest(`failed to base64-decode ${field}`);
      return value;
    };
    const context = decode('context');
    const nonce = decode('nonce');
    const key = keys.get(name);
    if (!key) throw badRequest(KEY_NOT_FOUND);
    const bytes = ({ 128: 16, 256: 32, 512: 64 } as Record<number, number>)[f.int('bits', 256)];
    if (bytes === undefined) throw badRequest('invalid bit length');
    const dataKey = randomBytes(bytes);
    const result = attempt(() => key.encrypt(f.int('key_version', 0), dataKey, { context, nonce }));
    if (result instanceof TransitError) throw fail(result);
    return ok(req, {
      ciphertext: result.ciphertext,
      key_version: result.version,
      ...(kind === 'plaintext' ? { plaintext: dataKey.toString('base64') } : {}),
    });
  };

  const rotate = (req: VaultRequest, name: string): VaultReply => {
    const key = keys.get(name);
    if (!key) throw badRequest('key not found');
    key.rotate();
    return ok(req, key.describe());
  };

  const name = (m: RegExpMatchArray) => m[1] ?? '';
  const routes: Route[] = [
    {
      pattern: /^keys\/?$/,
      list: (req) => {
        const names = [...keys.keys()].sort();
        if (names.length === 0) throw notFound();
        return ok(req, { keys: names });
      },
    },
    {
      pattern: new RegExp(`^keys/${NAME}$`),
      read: (req, m) => {
        const key = keys.get(name(m));
        if (!key) throw notFound();
        const context = req.fields.string('context');
        if (context !== '' && attempt(() => decodeBase64Field(context)) instanceof TransitError) throw badRequest('failed to base64-decode context');
        return ok(req, key.describe());
      },
      update: (req, m) => {
        const { key, existed } = createKey(keys, name(m), req.fields);
        return ok(req, key.describe(), existed ? [`key ${name(m)} already existed`] : undefined);
      },
      delete: (_req, m) => {
        deleteKey(keys, name(m));
        return noContent();
      },
    },
    {
      pattern: new RegExp(`^keys/${NAME}/config$`),
      update: (req, m) => {
        const key = keys.get(name(m));
        if (!key) throw badRequest(`no existing key named ${name(m)} could be found`);
        const warnings = configureKey(key, req.fields);
        return ok(req, key.describe(), warnings.length > 0 ? warnings : undefined);
      },
    },
    { pattern: new RegExp(`^keys/${NAME}/rotate$`), update: (req, m) => rotate(req, name(m)) },
    {
      pattern: /^config\/keys$/,
      read: (req) => ok(req, { disable_upsert: disableUpsert }),
      update: (req) => {
        disableUpsert = req.fields.bool('disable_upsert', false);
        return ok(req, { disable_upsert: disableUpsert });
      },
    },
    // Encrypt upserts: POST is `create` (its own ACL capability) while the key does not exist.
    { pattern: new RegExp(`^encrypt/${NAME}$`), exists: (m) => keys.has(name(m)), update: (req, m) => encrypt(req, name(m)) },
    { pattern: new RegExp(`^decrypt/${NAME}$`), update: (req, m) => decrypt(req, name(m)) },
    { pattern: new RegExp(`^rewrap/${NAME}$`), update: (req, m) => rewrap(req, name(m)) },
    { pattern: new RegExp(`^datakey/${NAME}/${NAME}$`), update: (req, m) => datakey(req, m[1] ?? '', m[2] ?? '') },
  ];
  return { type: MOUNT_TYPE, routes };
}
