import type { Backend } from './backend.js';
import { newUuid, randomBase62 } from './ids.js';

/** One entry of `sys/mounts` or `sys/auth`. */
export interface MountEntry {
  /** With trailing slash; auth mounts start with `auth/`. */
  readonly path: string;
  readonly type: string;
  readonly description: string;
  readonly options: Readonly<Record<string, string>> | null;
  readonly accessor: string;
  readonly uuid: string;
  readonly backend: Backend;
}

/** The mounted secrets engines and auth methods, matched by longest path prefix. */
export class MountTable {
  private readonly entries = new Map<string, MountEntry>();

  add(path: string, type: string, backend: Backend, options: Record<string, string> | null = null, description = ''): MountEntry {
    const accessorPrefix = path.startsWith('auth/') ? `auth_${type}` : type === 'kv' ? 'kv' : type;
    const entry: MountEntry = {
      path,
      type,
      description,
      options,
      accessor: `${accessorPrefix}_${randomBase62(8).toLowerCase()}`,
      uuid: newUuid(),
      backend,
    };
    this.entries.set(path, entry);
    return entry;
  }

  get(path: string): MountEntry | undefined {
    return this.entries.get(path);
  }

  remove(path: string): MountEntry | undefined {
    const e = this.entries.get(path);
    this.entries.delete(path);
    return e;
  }

  /** The mount whose path is the longest prefix of `path` (a path equal to a mount without its slash matches too). */
  match(path: string): MountEntry | undefined {
    let best: MountEntry | undefined;
    for (const e of this.entries.values()) {
      if ((path.startsWith(e.path) || `${path}/` === e.path) && (!best || e.path.length > best.path.length)) best = e;
    }
    return best;
  }

  /** The path already in use that conflicts with mounting at `path`, if any. */
  conflict(path: string): string | undefined {
    for (const p of this.entries.keys()) if (p.startsWith(path) || path.startsWith(p)) return p;
    return undefined;
  }

  all(): MountEntry[] {
    return [...this.entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The shape `sys/mounts` and `sys/internal/ui/mounts` give each mount. */
  describe(e: MountEntry, withPath = false): Record<string, unknown> {
    return {
      accessor: e.accessor,
      config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
      description: e.description,
      external_entropy_access: false,
      local: false,
      options: e.options ? { ...e.options } : null,
      ...(withPath ? { path: e.path.replace(/^auth\//, '') } : {}),
      plugin_version: '',
      running_plugin_version: `v${VAULT_VERSION}+builtin.vault`,
      running_sha256: '',
      seal_wrap: false,
      type: e.type,
      uuid: e.uuid,
    };
  }
}

/** The Vault version the dev server reports. */
export const VAULT_VERSION = '1.19.0';
