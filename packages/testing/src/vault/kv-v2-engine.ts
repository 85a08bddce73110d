import type { Backend, Route, VaultRequest } from './backend.js';
import { formatGoDuration, parseGoDuration } from './durations.js';
import { Fields } from './fields.js';
import { badRequest, envelope, noContent, notFound, VaultHttpError, type VaultReply } from './http-envelope.js';
import { rfc3339Nano } from './ids.js';
import { KvV2Store, type KeyMetadata } from './kv-v2-store.js';

const MOUNT_TYPE = 'kv';

/**
 * The KV version 2 secrets engine of one mount: config, data (read/write/patch/soft delete),
 * metadata (read/write/patch/list/delete), delete/undelete/destroy of versions, subkeys.
 */
export function kvV2Engine(): Backend {
  const store = new KvV2Store();
  const ok = (req: VaultRequest, data: Record<string, unknown> | null, status = 200): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, data, status });

  const readData = (req: VaultRequest, key: string): VaultReply => {
    const meta = store.meta(key);
    if (!meta) throw notFound();
    const asked = req.fields.int('version', 0);
    const n = asked > 0 ? asked : meta.current;
    const v = store.version(meta, n);
    if (!v) throw notFound();
    const metadata = store.versionMetadata(meta, n);
    // A deleted or destroyed version is a 404 that still carries the envelope and its metadata.
    if (store.isGone(v)) return ok(req, { data: null, metadata }, 404);
    return ok(req, { data: structuredClone(v.data), metadata });
  };

  const writeData = (req: VaultRequest, key: string): VaultReply => {
    const data = req.fields.map('data');
    if (!data) throw badRequest('no data provided');
    store.checkCas(store.meta(key), req.fields.map('options'));
    const { meta, version } = store.addVersion(key, data);
    return ok(req, store.versionMetadata(meta, version));
  };

  const patchData = (req: VaultRequest, key: string): VaultReply => {
    const patch = req.fields.map('data');
    if (!patch) throw badRequest('no data provided');
    const meta = store.meta(key);
    const current = meta && store.version(meta, meta.current);
    if (!meta || !current) throw notFound();
    store.checkCas(meta, req.fields.map('options'));
    if (store.isGone(current)) return ok(req, store.versionMetadata(meta, meta.current), 404);
    const merged = mergePatch(structuredClone(current.data ?? {}), patch) as Record<string, unknown>;
    const { version } = store.addVersion(key, merged);
    return ok(req, store.versionMetadata(meta, version));
  };

  const versionsField = (req: VaultRequest): number[] => {
    const raw = req.data.versions;
    const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : typeof raw === 'number' ? [raw] : [];
    const versions = list.map((x) => Number(String(x).trim())).filter((n) => Number.isInteger(n) && n >= 0);
    if (versions.length === 0) throw badRequest('no version number provided');
    return versions;
  };

  const readMetadata = (req: VaultRequest, key: string): VaultReply => {
    const meta = store.meta(key);
    if (!meta) throw notFound();
    const versions: Record<string, unknown> = {};
    for (const [n, v] of [...meta.versions.entries()].sort((a, b) => a[0] - b[0])) {
      versions[String(n)] = {
        created_time: rfc3339Nano(v.created),
        deletion_time: v.deletion === undefined ? '' : rfc3339Nano(v.deletion),
        destroyed: v.destroyed,
      };
    }
    return ok(req, {
      cas_required: meta.casRequired,
      created_time: meta.created === undefined ? '' : rfc3339Nano(meta.created),
      current_version: meta.current,
      custom_metadata: meta.customMetadata ? { ...meta.customMetadata } : null,
      delete_version_after: formatGoDuration(meta.deleteVersionAfterMs),
      max_versions: meta.maxVersions,
      oldest_version: meta.oldest,
      updated_time: meta.updated === undefined ? '' : rfc3339Nano(meta.updated),
      versions,
    });
  };

  const writeMetadata = (req: VaultRequest, key: string, patch: boolean): VaultReply => {
    if (patch && !store.meta(key)) throw notFound();
    const meta = store.metaOrNew(key);
    applyMetadataFields(meta, req.fields, patch);
    return noContent();
  };

  const listMetadata = (req: VaultRequest, prefix: string): VaultReply => {
    const keys = store.list(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    if (keys.length === 0) throw notFound();
    return ok(req, { keys });
  };

  const keyOf = (m: RegExpMatchArray): string => m[1] ?? '';
  const exists = (m: RegExpMatchArray) => store.meta(keyOf(m)) !== undefined;

  const routes: Route[] = [
    {
      pattern: /^config$/,
      read: (req) =>
        ok(req, {
          cas_required: store.config.casRequired,
          delete_version_after: formatGoDuration(store.config.deleteVersionAfterMs),
          max_versions: store.config.maxVersions,
        }),
      update: (req) => {
        if (req.fields.has('max_versions')) store.config.maxVersions = req.fields.int('max_versions');
        if (req.fields.has('cas_required')) store.config.casRequired = req.fields.bool('cas_required', false);
        if (req.fields.has('delete_version_after')) store.config.deleteVersionAfterMs = durationField(req.fields, 'delete_version_after');
        return noContent();
      },
    },
    {
      pattern: /^data\/(.*[^/])$/,
      exists,
      read: (req, m) => readData(req, keyOf(m)),
      update: (req, m) => writeData(req, keyOf(m)),
      patch: (req, m) => patchData(req, keyOf(m)),
      delete: (_req, m) => {
        const meta = store.meta(keyOf(m));
        if (meta) store.softDelete(meta, [meta.current]);
        return noContent();
      },
    },
    {
      pattern: /^metadata\/?(.*)$/,
      exists,
      list: (req, m) => listMetadata(req, keyOf(m)),
      read: (req, m) => readMetadata(req, keyOf(m)),
      update: (req, m) => writeMetadata(req, keyOf(m), false),
      patch: (req, m) => writeMetadata(req, keyOf(m), true),
      delete: (_req, m) => {
        store.deleteKey(keyOf(m));
        return noContent();
      },
    },
    ...(['delete', 'undelete', 'destroy'] as const).map(
      (verb): Route => ({
        pattern: new RegExp(`^${verb}/(.*[^/])$`),
        update: (req, m) => {
          const versions = versionsField(req);
          const meta = store.meta(keyOf(m));
          if (meta) (verb === 'delete' ? store.softDelete : verb === 'undelete' ? store.undelete : store.destroy).call(store, meta, versions);
          return noContent();
        },
      }),
    ),
    {
      pattern: /^subkeys\/(.*[^/])$/,
      read: (req, m) => {
        const meta = store.meta(keyOf(m));
        const asked = req.fields.int('version', 0);
        const v = meta && store.version(meta, asked > 0 ? asked : meta.current);
        if (!meta || !v) throw notFound();
        const metadata = store.versionMetadata(meta, asked > 0 ? asked : meta.current);
        if (store.isGone(v)) return ok(req, { subkeys: null, metadata }, 404);
        return ok(req, { subkeys: subkeys(v.data ?? {}, req.fields.int('depth', 0), 1), metadata });
      },
    },
  ];
  return { type: MOUNT_TYPE, routes };
}

function durationField(fields: Fields, name: string): number {
  const raw = fields.string(name);
  const ms = /^\d+$/.test(raw) ? Number(raw) * 1000 : parseGoDuration(raw);
  if (ms === undefined) throw new VaultHttpError(400, [`Field validation failed: error converting input ${raw} for field "${name}": time: invalid duration "${raw}"`]);
  return ms;
}

function applyMetadataFields(meta: KeyMetadata, fields: Fields, patch: boolean): void {
  if (fields.has('max_versions')) meta.maxVersions = fields.int('max_versions');
  if (fields.has('cas_required')) meta.casRequired = fields.bool('cas_required', false);
  if (fields.has('delete_version_after')) meta.deleteVersionAfterMs = durationField(fields, 'delete_version_after');
  if (fields.has('custom_metadata')) {
    const custom = fields.map('custom_metadata') ?? {};
    const base = patch && meta.customMetadata ? { ...meta.customMetadata } : {};
    for (const [k, v] of Object.entries(custom)) {
      if (v === null && patch) delete base[k];
      else base[k] = String(v);
    }
    meta.customMetadata = Object.keys(base).length > 0 ? base : null;
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The shape of a secret with leaves replaced by null (the subkeys endpoint). */
function subkeys(value: Record<string, unknown>, depth: number, level: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const nested = typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0;
    out[k] = nested && (depth === 0 || level < depth) ? subkeys(v as Record<string, unknown>, depth, level + 1) : null;
  }
  return out;
}
