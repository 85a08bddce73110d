import { KeywardError, emptyKeyRing, parseKeyRing, type KeyRing, type KeyRingBackend, type StoredKeyRing } from '@keyward/core';
import { connectionFor } from './provider-connection.js';
import type { VaultConnectionChoice } from './vault-connection.js';
import { encodePath } from './vault-path.js';

/**
 * Options of {@link vaultKeyRing}: a connection (or its options), the KV v2 mount and the path.
 *
 * @example { connection: vault, path: 'billing/live/api-keys' }
 */
export type VaultKeyRingOptions = VaultConnectionChoice & {
  /** The ring's path under the mount, e.g. `billing/live/api-keys` (the same path the app declares). */
  readonly path: string;
  /** Where the KV v2 engine is mounted (default `secret`). */
  readonly mount?: string;
};

interface KvAnswer {
  readonly data?: { readonly data?: unknown; readonly metadata?: { readonly version?: unknown } | null; readonly version?: unknown } | null;
  readonly errors?: unknown;
}

const CAS_MISMATCH = /check-and-set parameter did not match/i;

/**
 * A key ring kept in Vault's KV v2 engine, written with check-and-set (`options.cas`): a write
 * names the version it was computed from, and Vault refuses it (`KEY_RING_CONFLICT`) when another
 * writer made a newer one. The revision is `v<version>`, the same version the `vaultKv` provider
 * reports to the store. The ring's data is the document itself (`version` and `keys`).
 *
 * @example
 * const admin = keyRingAdmin({ backend: vaultKeyRing({ connection: vault, path: 'billing/live/api-keys' }), pepper, env: 'live' });
 */
export function vaultKeyRing(options: VaultKeyRingOptions): KeyRingBackend {
  const mount = encodePath(options.mount ?? 'secret', 'vaultKeyRing mount');
  const path = encodePath(options.path, 'vaultKeyRing path');
  if (path === '') throw new KeywardError('CONFIG_INVALID', 'vaultKeyRing needs a path');
  const { connection, owned } = connectionFor(options);
  const dataPath = `${mount}/data/${path}`;

  async function read(): Promise<StoredKeyRing> {
    const { status, body } = await connection.request<KvAnswer | undefined>({ method: 'GET', path: dataPath, accept: [404], doing: 'key ring read' });
    const version = body?.data?.metadata?.version;
    const revision = typeof version === 'number' ? `v${version}` : undefined;
    const data = body?.data?.data;
    // Never written, or its latest version deleted: an empty ring, written over that version.
    if (status === 404 || data === null || data === undefined) return { ring: emptyKeyRing(), revision };
    return { ring: parseKeyRing(data), revision };
  }

  async function write(ring: KeyRing, expected: string | undefined): Promise<string> {
    const cas = expected === undefined ? 0 : Number(expected.replace(/^v/, ''));
    if (!Number.isInteger(cas) || cas < 0) throw new KeywardError('CONFIG_INVALID', 'a Vault key ring revision is v<version>');
    const { status, body } = await connection.request<KvAnswer | undefined>({
      method: 'POST',
      path: dataPath,
      body: { options: { cas }, data: parseKeyRing(ring) },
      accept: [400],
      doing: 'key ring write',
    });
    const errors = Array.isArray(body?.errors) ? body.errors.filter((e): e is string => typeof e === 'string') : [];
    if (status === 400 && errors.some((e) => CAS_MISMATCH.test(e))) {
      throw new KeywardError('KEY_RING_CONFLICT', `the key ring at vault kv ${dataPath} changed since it was read (version ${cas})`);
    }
    if (status === 400) throw new KeywardError('CONFIG_INVALID', `key ring write: POST /v1/${dataPath}: Vault refused the request as invalid (400): ${errors.join('; ')}`);
    const version = body?.data?.version;
    if (typeof version !== 'number') throw new KeywardError('PROVIDER_REFUSED', `Vault's answer to the key ring write at ${dataPath} has no version (is the mount KV v2?)`);
    return `v${version}`;
  }

  return { location: `vault kv ${dataPath}`, read, write, ...(owned ? { close: () => connection.close() } : {}) };
}
