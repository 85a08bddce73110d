import { isKeywardError, KeywardError, UNCHANGED, type SecretProvider, type SecretRef } from '@keyward/core';
import { connectionFor } from './provider-connection.js';
import type { VaultConnection, VaultConnectionChoice } from './vault-connection.js';
import { vaultStatusOf } from './vault-errors.js';
import { encodePath, trimSlashes } from './vault-path.js';

/**
 * Options of {@link vaultKv}: a connection (or its options), the mount, cheap refresh.
 *
 * @example { connection: vault, mount: 'kv-billing' }
 */
export type VaultKvOptions = VaultConnectionChoice & {
  /** Where the KV v2 engine is mounted (default `secret`). */
  readonly mount?: string;
  /**
   * On refresh, read `metadata/<path>` first and answer "unchanged" when the current version is
   * the one held, reading the data only when it changed (default `true`). Falls back to plain
   * reads, once and for all, when the token may not read metadata.
   */
  readonly cheapRefresh?: boolean;
};

interface KvVersionMetadata {
  readonly version?: unknown;
  readonly deletion_time?: unknown;
  readonly destroyed?: unknown;
}

interface KvDataAnswer {
  readonly data?: { readonly data?: unknown; readonly metadata?: KvVersionMetadata | null } | null;
}

interface KvMetadataAnswer {
  readonly data?: { readonly current_version?: unknown; readonly versions?: Record<string, KvVersionMetadata> } | null;
}

/**
 * Reads secrets from Vault's KV version 2 engine: `GET /v1/<mount>/data/<path>`, where `path` is
 * the secret's rendered path template (`{app}/{env}/{name}` unless declared otherwise). The value
 * is the version's data map; the version is `v<metadata.version>`. A soft-deleted or destroyed
 * latest version is SECRET_NOT_FOUND, saying which version and when.
 *
 * @example
 * const store = await createSecretStore({
 *   app: 'billing',
 *   providers: { production: vaultKv({ endpoint: 'https://vault:8200', auth: kubernetesAuth({ role: 'billing' }) }) },
 *   secrets: { stripe: { key: 'apiKey' } },     // secret/data/billing/production/stripe, field apiKey
 * });
 */
export function vaultKv(options: VaultKvOptions): SecretProvider {
  const mount = encodePath(options.mount ?? 'secret', 'vaultKv mount');
  const { connection, owned } = connectionFor(options);
  let metadataReadable = options.cheapRefresh ?? true;

  return {
    kind: 'vault-kv',
    locate: (ref) => `vault kv ${mount}/data/${trimSlashes(ref.path)}`,
    async read(ref, { signal, current }) {
      // Before any call: a path that would leave the mount never reaches Vault.
      const path = pathOf(ref, mount);
      if (current !== undefined && metadataReadable) {
        try {
          const latest = await latestVersion(connection, mount, path, signal);
          if (latest !== undefined && `v${latest}` === current.version) return UNCHANGED;
        } catch (err) {
          // Metadata denied to this token: plain reads from now on. Gone: the data read below says how.
          if (isKeywardError(err, 'PERMISSION_DENIED') && vaultStatusOf(err) === 403) metadataReadable = false;
          else if (!isKeywardError(err, 'SECRET_NOT_FOUND')) throw err;
        }
      }
      const { status, body } = await connection.request<KvDataAnswer | undefined>({
        method: 'GET',
        path: `${mount}/data/${path}`,
        signal,
        accept: [404],
        doing: 'KV read',
      });
      const data = body?.data?.data;
      const metadata = body?.data?.metadata;
      if (status === 404 || data === null || data === undefined) {
        throw new KeywardError('SECRET_NOT_FOUND', gone(metadata));
      }
      if (typeof data !== 'object' || Array.isArray(data) || typeof metadata?.version !== 'number') {
        throw new KeywardError('SECRET_INVALID', `Vault's answer at ${mount}/data/${path} is not a KV version 2 entry (is the mount KV v2?)`);
      }
      return { value: data, version: `v${metadata.version}` };
    },
    ...(owned ? { close: () => connection.close() } : {}),
  };
}

function pathOf(ref: SecretRef, mount: string): string {
  const path = encodePath(ref.path, 'path', { secret: ref.name, location: `vault kv ${mount}/data/${trimSlashes(ref.path)}` });
  if (path === '') throw new KeywardError('CONFIG_INVALID', 'the secret path is empty');
  return path;
}

/** The current version, or `undefined` when it is deleted or destroyed (the data read then says so). */
async function latestVersion(connection: VaultConnection, mount: string, path: string, signal: AbortSignal): Promise<number | undefined> {
  const { body } = await connection.request<KvMetadataAnswer | undefined>({
    method: 'GET',
    path: `${mount}/metadata/${path}`,
    signal,
    doing: 'KV metadata read',
  });
  const version = body?.data?.current_version;
  if (typeof version !== 'number') return undefined;
  const state = body?.data?.versions?.[String(version)];
  return state && isGone(state) ? undefined : version;
}

function isGone(state: KvVersionMetadata): boolean {
  if (state.destroyed === true) return true;
  // A deletion_time in the future is `delete_version_after` at work: still readable until then.
  return typeof state.deletion_time === 'string' && state.deletion_time !== '' && Date.parse(state.deletion_time) <= Date.now();
}

/** Why there is no data: the latest version deleted or destroyed (Vault's 404 still carries its metadata), or nothing there at all. */
function gone(metadata: KvVersionMetadata | null | undefined): string {
  const version = typeof metadata?.version === 'number' ? metadata.version : undefined;
  if (version !== undefined && metadata?.destroyed === true) {
    return `its latest version (${version}) was destroyed in Vault; write a new version`;
  }
  if (version !== undefined && typeof metadata?.deletion_time === 'string' && metadata.deletion_time !== '') {
    return `its latest version (${version}) was deleted in Vault at ${metadata.deletion_time}; \`vault kv undelete -versions=${version}\` restores it`;
  }
  return 'Vault has no secret there (404)';
}
