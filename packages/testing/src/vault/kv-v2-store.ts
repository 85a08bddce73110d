import { badRequest } from './http-envelope.js';
import { rfc3339Nano } from './ids.js';

const DEFAULT_MAX_VERSIONS = 10;

interface StoredVersion {
  readonly created: number;
  deletion: number | undefined;
  destroyed: boolean;
  data: Record<string, unknown> | undefined;
}

export interface KeyMetadata {
  readonly key: string;
  readonly versions: Map<number, StoredVersion>;
  current: number;
  oldest: number;
  created: number | undefined;
  updated: number | undefined;
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterMs: number;
  customMetadata: Record<string, string> | null;
}

export interface KvConfig {
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterMs: number;
}

/** The versioned key-value store behind one KV v2 mount. */
export class KvV2Store {
  readonly config: KvConfig = { maxVersions: 0, casRequired: false, deleteVersionAfterMs: 0 };
  private readonly keys = new Map<string, KeyMetadata>();

  meta(key: string): KeyMetadata | undefined {
    return this.keys.get(key);
  }

  /** The metadata of a key, created empty if absent (metadata writes create keys). */
  metaOrNew(key: string): KeyMetadata {
    let m = this.keys.get(key);
    if (!m) {
      m = {
        key,
        versions: new Map(),
        current: 0,
        oldest: 0,
        created: undefined,
        updated: undefined,
        maxVersions: 0,
        casRequired: false,
        deleteVersionAfterMs: 0,
        customMetadata: null,
      };
      this.keys.set(key, m);
    }
    return m;
  }

  deleteKey(key: string): void {
    this.keys.delete(key);
  }

  /** Vault's check-and-set rule (`options.cas`), with its three error texts. */
  checkCas(meta: KeyMetadata | undefined, options: Record<string, unknown> | undefined): void {
    const casRaw = options?.cas;
    if (casRaw !== undefined && casRaw !== null) {
      const cas = typeof casRaw === 'number' ? casRaw : typeof casRaw === 'string' && /^\d+$/.test(casRaw) ? Number(casRaw) : NaN;
      if (!Number.isInteger(cas)) throw badRequest('error parsing check-and-set parameter');
      if (cas !== (meta?.current ?? 0)) throw badRequest('check-and-set parameter did not match the current version');
    } else if (this.config.casRequired || meta?.casRequired) {
      throw badRequest('check-and-set parameter required for this call');
    }
  }

  /** Adds a version; prunes the oldest beyond max_versions, as KeyMetadata.AddVersion does. */
  addVersion(key: string, data: Record<string, unknown>, now = Date.now()): { meta: KeyMetadata; version: number } {
    const meta = this.metaOrNew(key);
    const dva = effectiveDeleteAfter(this.config.deleteVersionAfterMs, meta.deleteVersionAfterMs);
    meta.current += 1;
    meta.versions.set(meta.current, { created: now, deletion: dva > 0 ? now + dva : undefined, destroyed: false, data: structuredClone(data) });
    meta.updated = now;
    meta.created ??= now;
    const max = effectiveMaxVersions(this.config.maxVersions, meta.maxVersions);
    if (meta.current - meta.oldest >= max) {
      const toDelete = meta.current - max;
      for (let v = meta.oldest; v <= toDelete; v++) meta.versions.delete(v);
      meta.oldest = toDelete + 1;
    }
    return { meta, version: meta.current };
  }

  /** True when the version is soft-deleted (deletion time reached) or destroyed. */
  isGone(v: StoredVersion, now = Date.now()): boolean {
    return v.destroyed || (v.deletion !== undefined && v.deletion <= now);
  }

  softDelete(meta: KeyMetadata, versions: readonly number[], now = Date.now()): void {
    for (const n of versions) {
      const v = meta.versions.get(n);
      if (!v || v.destroyed) continue;
      if (v.deletion === undefined || v.deletion > now) v.deletion = now;
    }
  }

  undelete(meta: KeyMetadata, versions: readonly number[]): void {
    for (const n of versions) {
      const v = meta.versions.get(n);
      if (v && !v.destroyed) v.deletion = undefined;
    }
  }

  destroy(meta: KeyMetadata, versions: readonly number[]): void {
    for (const n of versions) {
      const v = meta.versions.get(n);
      if (v) {
        v.destroyed = true;
        v.data = undefined;
      }
    }
  }

  /** Names directly under `prefix` (`''` or ending in `/`); folders end with `/`. */
  list(prefix: string): string[] {
    const out = new Set<string>();
    for (const key of this.keys.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      if (rest === '') continue;
      const slash = rest.indexOf('/');
      out.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
    }
    return [...out].sort();
  }

  /** The per-version metadata block of read and write answers. */
  versionMetadata(meta: KeyMetadata, n: number): Record<string, unknown> {
    const v = meta.versions.get(n)!;
    return {
      created_time: rfc3339Nano(v.created),
      custom_metadata: meta.customMetadata ? { ...meta.customMetadata } : null,
      deletion_time: v.deletion === undefined ? '' : rfc3339Nano(v.deletion),
      destroyed: v.destroyed,
      version: n,
    };
  }

  version(meta: KeyMetadata, n: number): StoredVersion | undefined {
    return meta.versions.get(n);
  }
}

function effectiveMaxVersions(config: number, key: number): number {
  if (config > 0 && key > 0) return Math.min(config, key);
  return key || config || DEFAULT_MAX_VERSIONS;
}

/** The smaller non-zero of the mount's and the key's delete_version_after. */
function effectiveDeleteAfter(config: number, key: number): number {
  if (config > 0 && key > 0) return Math.min(config, key);
  return key || config;
}
