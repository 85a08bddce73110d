import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext, type SecureContextOptions } from 'node:tls';
import { KeywardError } from '../errors/index.js';
import { parseDuration, type Duration } from '../util/index.js';

/**
 * Why a certificate from a secret was refused:
 * - `malformed`: no certificate or no private key in it, or PEM that does not parse (an encrypted key too);
 * - `key-mismatch`: the private key is not the certificate's;
 * - `expired` / `not-yet-valid`: the certificate, or one in its chain, is outside its validity now;
 * - `chain-incomplete`: the chain served with it does not reach a trusted root (an intermediate is missing).
 */
export type TlsProblem = 'malformed' | 'key-mismatch' | 'expired' | 'not-yet-valid' | 'chain-incomplete';

/** What is known of a served certificate: never its key. */
export interface TlsCertificateInfo {
  /** The secret's version the certificate came from. */
  readonly version: string;
  /** The certificate's serial number, uppercase hex as Node prints it. */
  readonly serial: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprint256: string;
}

/** A certificate and key that passed every check, with the chain to serve. */
export interface CheckedTls {
  readonly info: TlsCertificateInfo;
  /** The leaf then its intermediates, PEM. */
  readonly chain: string;
  /** How many certificates `chain` holds. */
  readonly chainLength: number;
  /** The private key, PEM (as the secret holds it). */
  readonly key: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** The server context, built once per version. */
  readonly context: SecureContext;
}

/**
 * The refusal of a TLS certificate: a `SECRET_INVALID` KeywardError whose `problem` says which
 * check failed. Its message names the secret and version (or "the given certificate"), never PEM.
 *
 * @example
 * try { checkTlsCertificate(bundle); } catch (err) { if (err instanceof TlsRefusal) console.error(err.problem); }
 */
export class TlsRefusal extends KeywardError {
  readonly problem: TlsProblem;
  constructor(problem: TlsProblem, what: { readonly secret?: string; readonly version?: string }, why: string, cause?: unknown) {
    const subject = what.secret === undefined ? 'the given TLS certificate' : `the TLS certificate in ${what.secret}@${what.version ?? '?'}`;
    super('SECRET_INVALID', `${subject} is refused (${problem}): ${why}`, { ...(what.secret === undefined ? {} : { secret: what.secret }), ...(cause === undefined ? {} : { cause }) });
    this.problem = problem;
  }
}

// Kubernetes TLS secrets (tls.crt, tls.key, ca.crt), Vault PKI (certificate, private_key,
// issuing_ca, ca_chain), ACM's ExportCertificate (Certificate, PrivateKey, CertificateChain),
// certbot's files, and Node's own option names.
const CERT_FIELDS = ['tls.crt', 'certificate', 'Certificate', 'cert', 'fullchain.pem', 'cert.pem'];
const KEY_FIELDS = ['tls.key', 'private_key', 'PrivateKey', 'key', 'privkey.pem', 'key.pem'];
const CA_FIELDS = ['ca.crt', 'ca_chain', 'issuing_ca', 'CertificateChain', 'ca', 'chain.pem'];

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

interface PemBlocks {
  readonly certificates: string[];
  readonly keys: string[];
}

function pemBlocks(text: string | undefined): PemBlocks {
  const out: PemBlocks = { certificates: [], keys: [] };
  for (const match of (text ?? '').matchAll(PEM_BLOCK)) {
    const label = match[1]!;
    if (label === 'CERTIFICATE') out.certificates.push(match[0]);
    else if (label.endsWith('PRIVATE KEY')) out.keys.push(match[0]);
  }
  return out;
}

function field(value: Readonly<Record<string, unknown>>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = value[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** What checking needs besides the secret: extra trust anchors, the context options, the clock. */
export interface CheckTlsOptions {
  /** The secret's name, for messages (none: "the given TLS certificate"). */
  readonly secret?: string;
  readonly version: string;
  /** Trust anchors besides Node's root store and the secret's own self-signed CA certificates (PEM). */
  readonly trust: readonly X509Certificate[];
  /** Added to the server context (ciphers, `ca` to verify clients…). */
  readonly context: Omit<SecureContextOptions, 'cert' | 'key' | 'pfx'>;
  readonly clockSkewMs: number;
  readonly now: number;
}

/**
 * Checks a TLS secret and builds its server context. The value is a PEM bundle (certificates and
 * a private key), or a map with the certificate, the key and optionally CA certificates under the
 * names Kubernetes (`tls.crt`, `tls.key`, `ca.crt`), Vault PKI (`certificate`, `private_key`,
 * `issuing_ca`, `ca_chain`), ACM's export (`Certificate`, `PrivateKey`, `CertificateChain`),
 * certbot (`fullchain.pem`, `privkey.pem`) or Node (`cert`, `key`, `ca`) use. Intermediates from the CA fields are served after the leaf; self-signed CA certificates are
 * trust anchors for the chain check only. Throws a `TlsRefusal` (code `SECRET_INVALID`).
 */
export function checkTls(value: unknown, options: CheckTlsOptions): CheckedTls {
  const refuse = (problem: TlsProblem, why: string, cause?: unknown): never => {
    throw new TlsRefusal(problem, { secret: options.secret, version: options.version }, why, cause);
  };
  let certText: string | undefined;
  let keyText: string | undefined;
  let caText: string | undefined;
  if (typeof value === 'string' || ArrayBuffer.isView(value)) {
    // A PEM bundle; as bytes too (a `SecretBinary`).
    certText = keyText = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  } else if (value !== null && typeof value === 'object') {
    const map = value as Readonly<Record<string, unknown>>;
    certText = field(map, CERT_FIELDS);
    keyText = field(map, KEY_FIELDS) ?? certText;
    // Vault's raw answer has `ca_chain` as a list (the provider joins it into one string).
    caText = CA_FIELDS.flatMap((name) => [map[name]].flat())
      .filter((v): v is string => typeof v === 'string')
      .join('\n');
  } else {
    refuse('malformed', 'the value is neither PEM text nor a map of PEM fields');
  }
  const served = pemBlocks(certText).certificates;
  const keys = pemBlocks(keyText).keys;
  if (served.length === 0) refuse('malformed', `no certificate in it (looked for PEM text or the fields ${CERT_FIELDS.join(', ')})`);
  if (keys.length !== 1) refuse('malformed', keys.length === 0 ? `no private key in it (looked for the fields ${KEY_FIELDS.join(', ')})` : 'more than one private key in it');

  const parse = (pem: string, what: string): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      return refuse('malformed', `${what} does not parse as X.509`, err);
    }
  };
  const leaf = parse(served[0]!, 'the certificate');
  const keyPem = keys[0]!;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    // An encrypted key lands here too: Keyward takes keys unencrypted, from the secret store.
    key = refuse('malformed', 'the private key does not parse (an encrypted key is not taken)', err);
  }
  if (!leaf.checkPrivateKey(key)) refuse('key-mismatch', 'the private key is not the certificate’s');

  // The chain: the leaf, then certificates from the certificate and CA fields that are not
  // self-signed (intermediates), each the issuer of the one before.
  const extra = [...served.slice(1).map((pem) => parse(pem, 'a chain certificate')), ...pemBlocks(caText).certificates.map((pem) => parse(pem, 'a CA certificate'))];
  const anchors = [...options.trust, ...extra.filter(selfSigned)];
  const pool = extra.filter((c) => !selfSigned(c));
  const path = [leaf];
  for (let last = leaf; !selfSigned(last); ) {
    const next = pool.find((c) => issued(last, c) && !path.some((p) => p.fingerprint256 === c.fingerprint256));
    if (next === undefined) break;
    path.push(next);
    last = next;
  }
  const top = path.at(-1)!;
  if (!selfSigned(top) && !anchors.some((a) => issued(top, a)) && !nodeRoots().some((a) => issued(top, a))) {
    refuse('chain-incomplete', `no certificate given or trusted issued "${oneLine(top.issuer)}"; serve its intermediates with it, or add its root to \`trust\``);
  }
  for (const cert of path) {
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    const which = cert === leaf ? 'the certificate' : `its issuer "${oneLine(cert.subject)}"`;
    if (to <= options.now) refuse('expired', `${which} expired at ${new Date(to).toISOString()}`);
    if (from > options.now + options.clockSkewMs) refuse('not-yet-valid', `${which} is valid only from ${new Date(from).toISOString()}`);
  }
  const chain = path.map((c) => c.toString()).join('');
  let context: SecureContext;
  try {
    context = createSecureContext({ ...options.context, cert: chain, key: keyPem });
  } catch (err) {
    context = refuse('malformed', `OpenSSL refuses it (${(err as { code?: string }).code ?? 'no code'})`, err);
  }
  return {
    info: {
      version: options.version,
      serial: leaf.serialNumber,
      subject: oneLine(leaf.subject),
      issuer: oneLine(leaf.issuer),
      notBefore: new Date(leaf.validFrom).toISOString(),
      notAfter: new Date(leaf.validTo).toISOString(),
      fingerprint256: leaf.fingerprint256,
    },
    chain,
    chainLength: path.length,
    key: keyPem,
    notBeforeMs: Date.parse(leaf.validFrom),
    notAfterMs: Date.parse(leaf.validTo),
    context,
  };
}

/** Parses trust anchors given as PEM (one or several certificates per string). */
export function trustAnchors(pems: string | readonly string[] | undefined): X509Certificate[] {
  const list = typeof pems === 'string' ? [pems] : (pems ?? []);
  const certs = list.flatMap((pem) => pemBlocks(pem).certificates);
  if (list.length > 0 && certs.length === 0) throw new KeywardError('CONFIG_INVALID', 'tlsFromSecret `trust` holds no PEM certificate');
  return certs.map((pem) => new X509Certificate(pem));
}

function selfSigned(cert: X509Certificate): boolean {
  return issued(cert, cert);
}

function issued(cert: X509Certificate, by: X509Certificate): boolean {
  try {
    return cert.checkIssued(by) && cert.verify(by.publicKey);
  } catch {
    return false;
  }
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

let roots: X509Certificate[] | undefined;
/** Node's bundled root store, parsed on first need (only for chains that end below a public root). */
function nodeRoots(): X509Certificate[] {
  return (roots ??= rootCertificates.map((pem) => new X509Certificate(pem)));
}

/**
 * Options of {@link checkTlsCertificate}.
 *
 * @example { trust: readFileSync('private-root.pem', 'utf8'), at: new Date(Date.now() + 7 * 86_400_000) }
 */
export interface CheckTlsCertificateOptions {
  /** Roots the chain check accepts besides Node's root store and self-signed CA certificates in the value (PEM). */
  readonly trust?: string | readonly string[];
  /** How far in the future a certificate's start may be (default `'1m'`). */
  readonly clockSkew?: Duration;
  /** The time to check validity at (default: now); a week ahead tells whether it still serves then. */
  readonly at?: Date;
}

/**
 * Runs the checks `tlsFromSecret` runs on each new value, without serving anything: for a check
 * before an upload (`keyward tls check`) or in a deploy pipeline. Takes the same values (a PEM
 * bundle as text or bytes, or the fields of a Kubernetes TLS secret, a Vault PKI answer, ACM's
 * export, certbot's files). Returns what is known of the certificate and how many certificates
 * would be served; throws a {@link TlsRefusal} (`SECRET_INVALID` with its `problem`).
 *
 * @example
 * const info = checkTlsCertificate({ 'tls.crt': crt, 'tls.key': key, 'ca.crt': ca });
 * console.log(info.serial, info.notAfter, info.chainLength);
 */
export function checkTlsCertificate(value: unknown, options: CheckTlsCertificateOptions = {}): Omit<TlsCertificateInfo, 'version'> & { readonly chainLength: number } {
  const checked = checkTls(value, {
    version: '-',
    trust: trustAnchors(options.trust),
    context: {},
    clockSkewMs: parseDuration(options.clockSkew ?? '1m', 'clockSkew'),
    now: (options.at ?? new Date()).getTime(),
  });
  const { version: _version, ...info } = checked.info;
  return { ...info, chainLength: checked.chainLength };
}
