import type { webcrypto } from 'node:crypto';
import { createCertificate, generateKeyPair, type PkiKeyPair, type SubjectName } from './vault/pki-certificates.js';

/** A certificate made for a test, with its private key; pass it as `issuer` to sign others with it. */
export interface TestCertificate {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PEM (SEC1 `EC PRIVATE KEY`). */
  readonly key: string;
  /** Uppercase hex, as `X509Certificate#serialNumber` and `getPeerCertificate().serialNumber` print it. */
  readonly serial: string;
  /** The key pair, to sign certificates issued by this one. */
  readonly keys: webcrypto.CryptoKeyPair;
}

/** What a test certificate is made with; the defaults give a leaf for `localhost` and `127.0.0.1`, valid from a minute ago for an hour. */
export interface TestCertificateRequest {
  readonly commonName?: string;
  /** Signs it; self-signed when absent. */
  readonly issuer?: TestCertificate;
  /** A CA (root, or intermediate with an `issuer`) rather than a leaf. */
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Default for a leaf: `['localhost']`. */
  readonly dnsNames?: readonly string[];
  /** Default for a leaf: `['127.0.0.1']`. */
  readonly ipAddresses?: readonly string[];
}

/** The key pairs behind the certificates this made, to sign with them as issuers. */
const keyPairs = new WeakMap<webcrypto.CryptoKeyPair, PkiKeyPair>();

/**
 * A real X.509 certificate (ECDSA P-256) for TLS tests, made the way the Vault dev server's PKI
 * engine makes its own: roots, intermediates and leaves with the validity you choose, so a test can
 * build expired, not-yet-valid and incomplete chains that a Vault would never issue.
 *
 * @example
 * const root = await testCertificate({ ca: true, commonName: 'Test Root' });
 * const leaf = await testCertificate({ issuer: root });                     // localhost, 127.0.0.1
 * https.createServer({ cert: leaf.cert, key: leaf.key });                   // clients trust root.cert
 */
export async function testCertificate(request: TestCertificateRequest = {}): Promise<TestCertificate> {
  const key = await generateKeyPair({ type: 'ec', bits: 256 });
  const ca = request.ca === true;
  const names: SubjectName[] = [
    ...(request.dnsNames ?? (ca ? [] : ['localhost'])).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? (ca ? [] : ['127.0.0.1'])).map((value) => ({ type: 'ip' as const, value })),
  ];
  const issuer = request.issuer;
  const issuerKey = issuer === undefined ? undefined : keyPairs.get(issuer.keys);
  if (issuer !== undefined && issuerKey === undefined) throw new TypeError('testCertificate: the issuer must be a certificate testCertificate made');
  const made = await createCertificate({
    key,
    ...(issuer === undefined ? {} : { issuer: { key: issuerKey!, pem: issuer.cert } }),
    commonName: request.commonName ?? (ca ? 'Keyward Test CA' : 'localhost'),
    ca,
    names,
    notBeforeMs: (request.notBefore ?? new Date(Date.now() - 60_000)).getTime(),
    notAfterMs: (request.notAfter ?? new Date(Date.now() + 3_600_000)).getTime(),
  });
  keyPairs.set(key.keys, key);
  return { cert: `${made.pem}\n`, key: `${key.privateKeyPem}\n`, serial: made.serial.replace(/:/g, '').toUpperCase(), keys: key.keys };
}
