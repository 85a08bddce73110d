import { isIP } from 'node:net';
import { KeywardError, parseDuration, UNCHANGED, type Duration, type ReadContext, type SecretLease, type SecretProvider, type SecretRef } from '@keyward/core';
import { connectionFor } from './provider-connection.js';
import type { VaultConnectionChoice } from './vault-connection.js';
import { checkedRoleName, encodePath, locateRole } from './vault-path.js';

/**
 * Options of {@link vaultPkiCertificate}: a connection (or its options), the mount, the role and
 * the names the certificate is for.
 *
 * @example { connection: vault, role: 'web', commonName: 'billing.internal.example.com', altNames: ['billing'], ttl: '24h' }
 */
export type VaultPkiCertificateOptions = VaultConnectionChoice & {
  /** Where the PKI secrets engine is mounted (default `pki`). */
  readonly mount?: string;
  /** The PKI role to issue under: a name, or a function of the secret. A role name has no `/`. */
  readonly role: string | ((ref: SecretRef) => string);
  /** The certificate's common name (`common_name`): a name, or a function of the secret. */
  readonly commonName: string | ((ref: SecretRef) => string);
  /** More DNS names or e-mail addresses (`alt_names`); the role must allow each. */
  readonly altNames?: readonly string[];
  /** IP addresses for the certificate (`ip_sans`); the role must have `allow_ip_sans`. */
  readonly ipSans?: readonly string[];
  /** The lifetime to ask for (default: the role's `ttl`); Vault caps it at the role's `max_ttl`. */
  readonly ttl?: Duration;
  /**
   * Revoke a replaced certificate once every `hold()` on the rotation is released (default
   * `false`: it is left to expire, as Vault advises for short-lived certificates, since every
   * revocation grows the CRL). With it, the store's `revokeLeasesOnClose` also revokes the
   * certificate in use at `close()`.
   */
  readonly revokeReplaced?: boolean;
};

interface IssueAnswer {
  readonly lease_id?: unknown;
  readonly data?: {
    readonly certificate?: unknown;
    readonly issuing_ca?: unknown;
    readonly ca_chain?: unknown;
    readonly private_key?: unknown;
    readonly private_key_type?: unknown;
    readonly serial_number?: unknown;
    readonly expiration?: unknown;
  } | null;
}

/** The lease id of a certificate issued without a Vault lease: the serial, so it can be revoked. */
const SERIAL_LEASE = 'pki-serial:';

/** Shorter-lived certificates are refused: they would be reissued at once, again and again. */
const MIN_LIFE_MS = 1000;

/**
 * A TLS certificate from Vault's PKI secrets engine: `POST /v1/<mount>/issue/<role>` with
 * `common_name`, `alt_names`, `ip_sans` and `ttl` gives a new key and certificate. The value is a
 * map of strings: `certificate`, `private_key`, `issuing_ca`, `ca_chain` (PEMs joined by newlines),
 * `serial_number`, `private_key_type` and `expiration` (unix seconds); the version is the serial.
 *
 * The certificate carries a non-renewable lease that ends at its `notAfter` (Vault's own lease
 * when the role has `generate_lease`), so the store issues a new certificate at about 2/3 of its
 * lifetime and emits `rotated`. A refresh while the certificate is still valid answers "unchanged"
 * rather than issuing another. The replaced certificate is not revoked unless `revokeReplaced` is
 * set: Vault advises letting short-lived certificates expire, since each revocation grows the CRL.
 *
 * @example
 * const store = await createSecretStore({
 *   app: 'billing',
 *   providers: { production: { default: vaultKv({ connection: vault }), tls: vaultPkiCertificate({ connection: vault, role: 'web', commonName: 'billing.example.com', ttl: '24h' }) } },
 *   secrets: { tls: { provider: 'tls', refresh: false } },
 * });
 * const cert = tlsFromSecret(store, 'tls');                       // @keyward/core: checked, swapped live
 * cert.attach(https.createServer(cert.options(), app)).listen(8443);
 */
export function vaultPkiCertificate(options: VaultPkiCertificateOptions): SecretProvider {
  const mount = encodePath(options.mount ?? 'pki', 'vaultPkiCertificate mount');
  if (mount === '') throw new KeywardError('CONFIG_INVALID', 'vaultPkiCertificate needs a `mount` (where the PKI engine is mounted, default pki)');
  const ttl = options.ttl === undefined ? undefined : Math.ceil(parseDuration(options.ttl, 'ttl') / 1000);
  const altNames = namesOf(options.altNames, 'altNames');
  const ipSans = namesOf(options.ipSans, 'ipSans');
  const badIp = ipSans.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new KeywardError('CONFIG_INVALID', `vaultPkiCertificate ipSans: "${badIp}" is not an IP address`);
  const roleOf = (ref: SecretRef): string => checkedRole(typeof options.role === 'function' ? options.role(ref) : options.role);
  const commonNameOf = (ref: SecretRef): string => checkedCommonName(typeof options.commonName === 'function' ? options.commonName(ref) : options.commonName);
  // Fixed names are checked now, before a connection is made for them.
  if (typeof options.role !== 'function') checkedRole(options.role);
  if (typeof options.commonName !== 'function') checkedCommonName(options.commonName);
  const { connection, owned } = connectionFor(options);

  const provider: SecretProvider = {
    kind: 'vault-pki',
    locate: locateRole(mount, 'issue', roleOf),
    async read(ref, { signal, current }) {
      const role = roleOf(ref);
      const commonName = commonNameOf(ref);
      // A refresh (not a lease re-issue) while the certificate is still valid: keep it.
      const lease = current?.lease;
      if (lease !== undefined && lease.issuedAt.getTime() + lease.ttlMs > Date.now()) return UNCHANGED;
      const path = `${mount}/issue/${encodeURIComponent(role)}`;
      const { body } = await connection.request<IssueAnswer | undefined>({
        method: 'POST',
        path,
        body: {
          common_name: commonName,
          ...(altNames.length > 0 ? { alt_names: altNames.join(',') } : {}),
          ...(ipSans.length > 0 ? { ip_sans: ipSans.join(',') } : {}),
          ...(ttl === undefined ? {} : { ttl: `${ttl}s` }),
        },
        signal,
        doing: 'certificate issue',
      });
      const data = body?.data;
      const certificate = data?.certificate;
      const privateKey = data?.private_key;
      const serial = data?.serial_number;
      const expiration = data?.expiration;
      if (
        typeof certificate !== 'string' ||
        certificate === '' ||
        typeof privateKey !== 'string' ||
        privateKey === '' ||
        typeof serial !== 'string' ||
        serial === '' ||
        typeof expiration !== 'number' ||
        !Number.isFinite(expiration)
      ) {
        throw new KeywardError('SECRET_INVALID', `Vault's answer at ${path} holds no certificate, private_key, serial_number and expiration`);
      }
      const issuingCa = typeof data?.issuing_ca === 'string' ? data.issuing_ca : '';
      const chain = Array.isArray(data?.ca_chain) ? data.ca_chain.filter((pem): pem is string => typeof pem === 'string' && pem !== '') : [];
      const now = Date.now();
      // A certificate that ends at once (a CA near its own end, with `leaf_not_after_behavior:
      // truncate`) would be reissued in a tight loop: refuse it, so the store retries with backoff.
      if (expiration * 1000 - now < MIN_LIFE_MS) {
        throw new KeywardError('SECRET_INVALID', `Vault issued a certificate at ${path} that expires within a second (is the issuing CA itself about to expire?)`);
      }
      const leaseId = typeof body?.lease_id === 'string' && body.lease_id !== '' ? body.lease_id : `${SERIAL_LEASE}${serial}`;
      return {
        value: {
          certificate,
          private_key: privateKey,
          issuing_ca: issuingCa,
          ca_chain: chain.length > 0 ? chain.join('\n') : issuingCa,
          serial_number: serial,
          private_key_type: typeof data?.private_key_type === 'string' ? data.private_key_type : '',
          expiration: String(expiration),
        },
        version: serial,
        lease: { id: leaseId, ttlMs: Math.max(0, expiration * 1000 - now), renewable: false, issuedAt: new Date(now) } satisfies SecretLease,
      };
    },
    ...(options.revokeReplaced === true
      ? {
          async revoke(lease: SecretLease, { signal }: ReadContext): Promise<void> {
            if (lease.id.startsWith(SERIAL_LEASE)) {
              const serial = lease.id.slice(SERIAL_LEASE.length);
              await connection.request({ method: 'POST', path: `${mount}/revoke`, body: { serial_number: serial }, signal, doing: 'certificate revocation' });
            } else {
              await connection.request({ method: 'PUT', path: 'sys/leases/revoke', body: { lease_id: lease.id }, signal, doing: 'lease revocation' });
            }
          },
        }
      : {}),
    ...(owned ? { close: () => connection.close() } : {}),
  };
  return provider;
}

function checkedRole(role: string): string {
  return checkedRoleName(role, "give vaultPkiCertificate the `role` of the PKI engine to issue under (e.g. role: 'web')");
}

function checkedCommonName(commonName: string): string {
  if (typeof commonName !== 'string' || commonName.trim() === '') {
    throw new KeywardError('CONFIG_INVALID', 'vaultPkiCertificate needs a non-empty `commonName` (the name the certificate is for)');
  }
  return commonName;
}

/** A list of names for a comma-separated field: each non-empty and without a comma. */
function namesOf(names: readonly string[] | undefined, what: string): readonly string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new KeywardError('CONFIG_INVALID', `vaultPkiCertificate ${what} must be a list of strings`);
  const bad = names.find((name) => typeof name !== 'string' || name.trim() === '' || name.includes(','));
  if (bad !== undefined) throw new KeywardError('CONFIG_INVALID', `vaultPkiCertificate ${what}: "${String(bad)}" is not a name (empty, or holds a comma)`);
  return names.map((name) => name.trim());
}
