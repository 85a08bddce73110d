import { X509Certificate } from 'node:crypto';
import { NAME, type Backend, type Route, type VaultRequest } from './backend.js';
import { badRequest, envelope, noContent, notFound, type EnvelopeFields, type VaultReply } from './http-envelope.js';
import { newUuid, rfc3339Nano, unixSeconds } from './ids.js';
import type { LeaseManager } from './lease-manager.js';
import {
  createCrl,
  createLeafCertificate,
  createRootCertificate,
  generateKeyPair,
  isHostname,
  isIpAddress,
  keySpec,
  normalizeSerial,
  type IssuedCertificate,
  type PkiKeyPair,
} from './pki-certificates.js';
import { describeRole, refusedName, writeRole, type PkiRole } from './pki-roles.js';
import { SYSTEM_DEFAULT_TTL_S, SYSTEM_MAX_TTL_S } from './ttl.js';

const MOUNT_TYPE = 'pki';
const CN_REQUIRED = 'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false';

interface Issuer {
  readonly id: string;
  readonly name: string;
  readonly keyId: string;
  readonly key: PkiKeyPair;
  readonly cert: IssuedCertificate;
}

interface StoredCertificate {
  readonly pem: string;
  readonly issuerId: string;
  revokedAtMs: number | undefined;
}

/**
 * The PKI secrets engine of one mount (`vault secrets enable pki`), after
 * website/content/api-docs/secret/pki and builtin/logical/pki: a self-signed root
 * (`root/generate/internal|exported`), roles, `issue/:role` with Vault's name checks and TTL
 * rules, `revoke` (and lease revocation when the role has `generate_lease`), certificate and CA
 * reads, and the CRL. The certificates are real X.509 (@peculiar/x509 over Node's WebCrypto).
 * Not served: intermediates, CSR signing, issuer management, OCSP, ACME, tidy.
 */
export function pkiEngine(ctx: { readonly leases: LeaseManager; readonly mountPath: string }): Backend {
  const issuers = new Map<string, Issuer>();
  let defaultIssuer: Issuer | undefined;
  const certs = new Map<string, StoredCertificate>();
  const roles = new Map<string, PkiRole>();
  const ok = (req: VaultRequest, data: Record<string, unknown> | null, extra: Partial<EnvelopeFields> = {}): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, data, ...extra });
  const raw = (text: string, contentType: string): VaultReply => ({ status: 200, rawText: text, headers: { 'Content-Type': contentType } });

  const generateRoot = async (req: VaultRequest, type: string): Promise<VaultReply> => {
    const f = req.fields;
    const commonName = f.string('common_name');
    if (commonName === '') throw badRequest(CN_REQUIRED);
    const spec = keySpec(f.string('key_type', 'rsa'), f.int('key_bits'));
    if (typeof spec === 'string') throw badRequest(spec);
    const ttl = Math.min(f.seconds('ttl') || SYSTEM_DEFAULT_TTL_S, SYSTEM_MAX_TTL_S);
    const key = await generateKeyPair(spec);
    const cert = await createRootCertificate(key, commonName, wholeSecond(Date.now() + ttl * 1000));
    const issuer: Issuer = { id: newUuid(), name: f.string('issuer_name'), keyId: newUuid(), key, cert };
    issuers.set(issuer.id, issuer);
    defaultIssuer ??= issuer;
    certs.set(cert.serial, { pem: cert.pem, issuerId: issuer.id, revokedAtMs: undefined });
    return ok(req, {
      certificate: cert.pem,
      expiration: unixSeconds(cert.notAfterMs),
      issuer_id: issuer.id,
      issuer_name: issuer.name,
      issuing_ca: cert.pem,
      key_id: issuer.keyId,
      key_name: f.string('key_name'),
      ...(type === 'exported' ? { private_key: key.privateKeyPem, private_key_type: spec.type } : {}),
      serial_number: cert.serial,
    });
  };

  /** `issue/:role`: Vault's checks in Vault's order (role, CN, SANs, IP SANs, TTL), then a new key and certificate. */
  const issue = async (req: VaultRequest, roleName: string): Promise<VaultReply> => {
    const f = req.fields;
    const role = roles.get(roleName);
    if (!role) throw badRequest(`unknown role: ${roleName}`);
    const ca = defaultIssuer;
    if (!ca) throw badRequest('no default issuer currently configured');
    const cn = f.string('common_name');
    if (cn === '' && role.requireCn) throw badRequest(CN_REQUIRED);
    const dnsNames: string[] = [];
    const emails: string[] = [];
    const sort = (into: string[][], name: string) => (name.includes('@') ? into[1]! : into[0]!).push(name);
    if (cn !== '' && !f.bool('exclude_cn_from_sans', false) && (cn.includes('@') || isHostname(cn))) sort([dnsNames, emails], cn);
    for (const name of [...new Set(f.commaList('alt_names'))].sort()) if (name.includes('@') || isHostname(name)) sort([dnsNames, emails], name);
    if (cn !== '') {
      const bad = refusedName(role, [cn]);
      if (bad) throw badRequest(`common name ${bad} not allowed by this role`);
    }
    const badDns = refusedName(role, dnsNames);
    if (badDns) throw badRequest(`subject alternate name ${badDns} not allowed by this role`);
    const badEmail = refusedName(role, emails);
    if (badEmail) throw badRequest(`email address ${badEmail} not allowed by this role`);
    const ipSans = f.commaList('ip_sans');
    if (ipSans.length > 0 && !role.allowIpSans) throw badRequest(`IP Subject Alternative Names are not allowed in this role, but was provided [${ipSans.join(' ')}]`);
    for (const ip of ipSans) if (!isIpAddress(ip)) throw badRequest(`the value "${ip}" is not a valid IP address`);

    // GetCertificateNotAfter: the request's ttl, else the role's, else the mount's; capped by max_ttl; never past the CA.
    const maxTtl = role.maxTtl || SYSTEM_MAX_TTL_S;
    const ttl = Math.min(f.seconds('ttl') || role.ttl || SYSTEM_DEFAULT_TTL_S, maxTtl);
    const notAfterMs = Date.now() + ttl * 1000;
    if (notAfterMs > ca.cert.notAfterMs) {
      throw badRequest(
        `cannot satisfy request, as TTL would result in notAfter of ${rfc3339Nano(notAfterMs)} that is beyond the expiration of the CA certificate at ${rfc3339Nano(ca.cert.notAfterMs)}`,
      );
    }
    const key = await generateKeyPair(role.key);
    const cert = await createLeafCertificate(key, { key: ca.key, pem: ca.cert.pem }, { commonName: cn, dnsNames, emails, ipAddresses: ipSans, notAfterMs: wholeSecond(notAfterMs) });
    if (!role.noStore) certs.set(cert.serial, { pem: cert.pem, issuerId: ca.id, revokedAtMs: undefined });
    const data = {
      ca_chain: [ca.cert.pem],
      certificate: cert.pem,
      expiration: unixSeconds(cert.notAfterMs),
      issuing_ca: ca.cert.pem,
      private_key: key.privateKeyPem,
      private_key_type: role.key.type,
      serial_number: cert.serial,
    };
    if (!role.generateLease || role.noStore) return ok(req, data);
    const leaseTtl = Math.max(0, Math.floor((cert.notAfterMs - Date.now()) / 1000));
    const lease = ctx.leases.create(
      `${ctx.mountPath}issue/${roleName}`,
      leaseTtl,
      req.token?.id,
      {
        renew: () => Promise.reject(badRequest('lease is not renewable')),
        revoke: async () => {
          revoke(cert.serial);
        },
      },
      false,
    );
    return ok(req, data, { leaseId: lease.id, renewable: false, leaseDuration: leaseTtl });
  };

  /** Marks a stored certificate revoked (once: a second revocation keeps the first time). */
  const revoke = (serial: string): StoredCertificate => {
    const entry = certs.get(serial);
    if (!entry) throw badRequest(`certificate with serial ${serial} not found.`);
    const issuer = [...issuers.values()].find((i) => i.cert.serial === serial);
    if (issuer) throw badRequest(`adding issuer (id: ${issuer.id}) to its own CRL is not allowed`);
    entry.revokedAtMs ??= Date.now();
    return entry;
  };

  const revokeRequest = (req: VaultRequest): VaultReply => {
    const f = req.fields;
    const serialText = f.string('serial_number');
    const pem = f.string('certificate');
    if (serialText !== '' && pem !== '') throw badRequest('Must provide either the certificate or the serial to revoke; not both.');
    if (serialText === '' && pem === '') throw badRequest('The serial number must be provided');
    let serial: string;
    try {
      serial = normalizeSerial(serialText !== '' ? serialText : new X509Certificate(pem).serialNumber);
    } catch {
      throw badRequest('certificate could not be parsed');
    }
    const entry = revoke(serial);
    return ok(req, revocationData(entry));
  };

  const requireCa = (): Issuer => {
    if (!defaultIssuer) throw badRequest('no default issuer currently configured');
    return defaultIssuer;
  };
  const crlPem = () => {
    const ca = requireCa();
    const revoked = [...certs.entries()].filter(([, c]) => c.revokedAtMs !== undefined && c.issuerId === ca.id);
    return createCrl({ key: ca.key, pem: ca.cert.pem }, revoked.map(([serial, c]) => ({ serial, atMs: c.revokedAtMs! })));
  };

  const readCert = async (req: VaultRequest, which: string): Promise<VaultReply> => {
    if (which === 'ca' || which === 'ca_chain') {
      const ca = requireCa();
      return ok(req, { ca_chain: [ca.cert.pem], certificate: ca.cert.pem, issuer_id: ca.id, revocation_time: 0, revocation_time_rfc3339: '' });
    }
    if (which === 'crl') return ok(req, { certificate: await crlPem(), revocation_time: 0, revocation_time_rfc3339: '' });
    const serial = safeSerial(which);
    const entry = serial ? certs.get(serial) : undefined;
    if (!entry) throw notFound();
    return ok(req, { certificate: entry.pem, issuer_id: entry.issuerId, ...revocationData(entry) });
  };

  const name = (m: RegExpMatchArray) => m[1] ?? '';
  const routes: Route[] = [
    { pattern: /^(?:root\/generate|issuers\/generate\/root)\/(internal|exported)$/, update: (req, m) => generateRoot(req, name(m)) },
    { pattern: /^ca\/pem$/, unauthenticated: true, read: () => raw(requireCa().cert.pem, 'application/pem-certificate-chain') },
    { pattern: /^ca_chain$/, unauthenticated: true, read: () => raw(requireCa().cert.pem, 'application/pem-certificate-chain') },
    { pattern: /^crl\/pem$/, unauthenticated: true, read: async () => raw(await crlPem(), 'application/x-pem-file') },
    { pattern: /^cert\/([0-9A-Za-z_:-]+)$/, unauthenticated: true, read: (req, m) => readCert(req, name(m)) },
    {
      pattern: /^cert\/([0-9A-Za-z:-]+)\/raw\/pem$/,
      unauthenticated: true,
      read: (_req, m) => {
        const entry = certs.get(safeSerial(name(m)) ?? '');
        if (!entry) throw notFound();
        return raw(entry.pem, 'application/pem-certificate-chain');
      },
    },
    {
      pattern: /^certs\/?$/,
      list: (req) => {
        if (certs.size === 0) throw notFound();
        return ok(req, { keys: [...certs.keys()].sort() });
      },
    },
    {
      pattern: /^roles\/?$/,
      list: (req) => {
        if (roles.size === 0) throw notFound();
        return ok(req, { keys: [...roles.keys()].sort() });
      },
    },
    {
      pattern: new RegExp(`^roles/${NAME}$`),
      exists: (m) => roles.has(name(m)),
      read: (req, m) => {
        const role = roles.get(name(m));
        if (!role) throw notFound();
        return ok(req, describeRole(role));
      },
      update: (req, m) => {
        const role = writeRole(req.fields, roles.get(name(m)));
        roles.set(name(m), role);
        return ok(req, describeRole(role));
      },
      delete: (_req, m) => {
        roles.delete(name(m));
        return noContent();
      },
    },
    { pattern: new RegExp(`^issue/${NAME}$`), update: (req, m) => issue(req, name(m)) },
    { pattern: /^revoke$/, update: revokeRequest },
  ];
  return { type: MOUNT_TYPE, routes };
}

function revocationData(entry: StoredCertificate): Record<string, unknown> {
  const at = entry.revokedAtMs;
  return {
    revocation_time: at === undefined ? 0 : unixSeconds(at),
    revocation_time_rfc3339: at === undefined ? '' : rfc3339Nano(at),
    ...(at === undefined ? {} : { state: 'revoked' }),
  };
}

/** X.509 times have whole seconds: keep the engine's idea of notAfter the same as the certificate's. */
const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

function safeSerial(text: string): string | undefined {
  const hex = text.toLowerCase().replace(/[-:]/g, '');
  return /^[0-9a-f]+$/.test(hex) && hex.length % 2 === 0 ? normalizeSerial(hex) : undefined;
}
