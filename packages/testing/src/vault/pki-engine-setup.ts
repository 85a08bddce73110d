import type { VaultDevServer } from './vault-dev-server.js';

/** A role of Vault's PKI engine: which names it may issue for, and for how long. */
export interface PkiEngineRole {
  /** `allowed_domains` (e.g. `['example.com']`); none by default. */
  readonly allowedDomains?: readonly string[];
  /** `allow_subdomains` (default `true`). */
  readonly allowSubdomains?: boolean;
  /** `allow_localhost` (default `true`). */
  readonly allowLocalhost?: boolean;
  /** `allow_ip_sans` (default `true`). */
  readonly allowIpSans?: boolean;
  /** `ttl`: what a certificate gets when the request names none (default: Vault's, the mount's default lease TTL). */
  readonly ttl?: string;
  /** `max_ttl`, a Vault duration (default `'1h'`). */
  readonly maxTtl?: string;
  /** `generate_lease`: certificates come with a Vault lease (default `false`). */
  readonly generateLease?: boolean;
}

/**
 * Sets up Vault's PKI secrets engine as an operator would, through Vault's API with the root
 * token: mounts it, generates a root CA (`root/generate/internal`), and writes one role per entry
 * of `roles`. Keys are ECDSA P-256 unless `keyType: 'rsa'` (EC is much faster to generate).
 * Resolves to the root CA's certificate, PEM: what clients trust.
 *
 * @example
 * const { caPem } = await mountPkiEngine(vault, { roles: { web: { allowedDomains: ['shop.internal'] } } });
 * // POST /v1/pki/issue/web { common_name: 'api.shop.internal' } now issues certificates chained to caPem
 */
export async function mountPkiEngine(
  vault: Pick<VaultDevServer, 'url' | 'rootToken'>,
  options: {
    readonly mount?: string;
    readonly commonName?: string;
    /** The root CA's TTL (default `'720h'`, under the mount's default `max_lease_ttl` of 768 h). */
    readonly ttl?: string;
    readonly keyType?: 'ec' | 'rsa';
    readonly roles: Readonly<Record<string, PkiEngineRole>>;
  },
): Promise<{ readonly caPem: string }> {
  const mount = options.mount ?? 'pki';
  const keyType = options.keyType ?? 'ec';
  const call = async (path: string, body: object): Promise<{ data?: { certificate?: string } } | undefined> => {
    const res = await fetch(`${vault.url}/v1/${path}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Vault POST ${path} answered ${res.status}`);
    return res.status === 204 ? undefined : ((await res.json()) as { data?: { certificate?: string } });
  };
  await call(`sys/mounts/${mount}`, { type: 'pki' });
  const root = await call(`${mount}/root/generate/internal`, { common_name: options.commonName ?? 'Keyward Test Root', ttl: options.ttl ?? '720h', key_type: keyType });
  for (const [name, role] of Object.entries(options.roles)) {
    await call(`${mount}/roles/${name}`, {
      allowed_domains: (role.allowedDomains ?? []).join(','),
      allow_subdomains: role.allowSubdomains ?? true,
      allow_localhost: role.allowLocalhost ?? true,
      allow_ip_sans: role.allowIpSans ?? true,
      ...(role.ttl === undefined ? {} : { ttl: role.ttl }),
      max_ttl: role.maxTtl ?? '1h',
      generate_lease: role.generateLease ?? false,
      key_type: keyType,
    });
  }
  const caPem = root?.data?.certificate;
  if (caPem === undefined) throw new Error(`Vault POST ${mount}/root/generate/internal answered no certificate`);
  return { caPem };
}
