import type { Fields } from './fields.js';
import { badRequest } from './http-envelope.js';
import { isHostname, keySpec, type PkiKeySpec } from './pki-certificates.js';

/** The role settings the dev server honours (others of Vault's are accepted and ignored). */
export interface PkiRole {
  allowedDomains: string[];
  allowSubdomains: boolean;
  allowBareDomains: boolean;
  allowLocalhost: boolean;
  allowAnyName: boolean;
  allowIpSans: boolean;
  enforceHostnames: boolean;
  requireCn: boolean;
  generateLease: boolean;
  noStore: boolean;
  key: PkiKeySpec;
  ttl: number;
  maxTtl: number;
}

/** `roles/:name` write with Vault's defaults (`key_type` rsa 2048, `allow_localhost` and `allow_ip_sans` true). */
export function writeRole(f: Fields, prev: PkiRole | undefined): PkiRole {
  const bool = (name: string, fallback: boolean) => f.bool(name, fallback);
  const keyType = f.has('key_type') ? f.string('key_type') : (prev?.key.type ?? 'rsa');
  const keyBits = f.has('key_bits') ? f.int('key_bits') : f.has('key_type') ? 0 : (prev?.key.bits ?? 0);
  const key = keySpec(keyType, keyBits);
  if (typeof key === 'string') throw badRequest(key);
  const role: PkiRole = {
    allowedDomains: f.has('allowed_domains') ? f.commaList('allowed_domains') : (prev?.allowedDomains ?? []),
    allowSubdomains: bool('allow_subdomains', prev?.allowSubdomains ?? false),
    allowBareDomains: bool('allow_bare_domains', prev?.allowBareDomains ?? false),
    allowLocalhost: bool('allow_localhost', prev?.allowLocalhost ?? true),
    allowAnyName: bool('allow_any_name', prev?.allowAnyName ?? false),
    allowIpSans: bool('allow_ip_sans', prev?.allowIpSans ?? true),
    enforceHostnames: bool('enforce_hostnames', prev?.enforceHostnames ?? true),
    requireCn: bool('require_cn', prev?.requireCn ?? true),
    generateLease: bool('generate_lease', prev?.generateLease ?? false),
    noStore: bool('no_store', prev?.noStore ?? false),
    key,
    ttl: f.has('ttl') ? f.seconds('ttl') : (prev?.ttl ?? 0),
    maxTtl: f.has('max_ttl') ? f.seconds('max_ttl') : (prev?.maxTtl ?? 0),
  };
  if (role.maxTtl > 0 && role.ttl > role.maxTtl) throw badRequest('"ttl" value must be less than "max_ttl" value');
  return role;
}

/** `roles/:name` read: Vault's field names, TTLs in seconds, keys sorted as Go's encoder sorts them. */
export function describeRole(r: PkiRole): Record<string, unknown> {
  return {
    allow_any_name: r.allowAnyName,
    allow_bare_domains: r.allowBareDomains,
    allow_glob_domains: false,
    allow_ip_sans: r.allowIpSans,
    allow_localhost: r.allowLocalhost,
    allow_subdomains: r.allowSubdomains,
    allow_wildcard_certificates: true,
    allowed_domains: [...r.allowedDomains],
    client_flag: true,
    enforce_hostnames: r.enforceHostnames,
    ext_key_usage: [],
    generate_lease: r.generateLease,
    issuer_ref: 'default',
    key_bits: r.key.bits,
    key_type: r.key.type,
    key_usage: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'],
    max_ttl: r.maxTtl,
    no_store: r.noStore,
    not_before_duration: 30,
    require_cn: r.requireCn,
    server_flag: true,
    signature_bits: r.key.type === 'rsa' ? 256 : 0,
    ttl: r.ttl,
    use_csr_common_name: true,
    use_csr_sans: true,
  };
}

/**
 * Vault's `ValidateNames` for DNS names and e-mail domains, without globs and templates: the
 * name that the role refuses, or undefined when all pass.
 */
export function refusedName(role: PkiRole, names: readonly string[]): string | undefined {
  for (const name of names) {
    let reduced = name;
    if (name.includes('@')) {
      const parts = name.split('@');
      if (parts.length !== 2) return name;
      reduced = parts[1]!;
    }
    const wildcard = reduced.startsWith('*.');
    if (wildcard && name.includes('@')) return name;
    const host = wildcard ? reduced.slice(2) : reduced;
    if (role.enforceHostnames && !isHostname(host)) return name;
    if (role.allowAnyName) continue;
    if (role.allowLocalhost && (reduced === 'localhost' || reduced === 'localdomain' || reduced.endsWith('.localhost'))) continue;
    const allowed = role.allowedDomains.some((domain) => {
      if (role.allowBareDomains && !wildcard && reduced === domain) return true;
      return role.allowSubdomains && (wildcard ? host === domain || host.endsWith(`.${domain}`) : reduced.endsWith(`.${domain}`));
    });
    if (!allowed) return name;
  }
  return undefined;
}
