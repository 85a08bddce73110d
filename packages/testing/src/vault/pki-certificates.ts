import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { isIP } from 'node:net';

type X509Lib = typeof import('@peculiar/x509');
let loading: Promise<X509Lib> | undefined;

/**
 * @peculiar/x509 needs a Reflect metadata polyfill (tsyringe); it is loaded on the first PKI call
 * only, so servers without a PKI mount never touch the global `Reflect`.
 */
function x509(): Promise<X509Lib> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    return lib;
  })();
  return loading;
}

/** The key types the dev server issues: Vault's `rsa` (2048, 3072, 4096) and `ec` (P-256, P-384). */
export type PkiKeyType = 'rsa' | 'ec';

export interface PkiKeySpec {
  readonly type: PkiKeyType;
  readonly bits: number;
}

/** A key pair with the private key as Vault hands it out (`der` format as PEM: PKCS#1 or SEC1). */
export interface PkiKeyPair {
  readonly spec: PkiKeySpec;
  readonly keys: CryptoKeyPair;
  readonly privateKeyPem: string;
}

/** One certificate as the engine keeps it. */
export interface IssuedCertificate {
  readonly pem: string;
  /** Lower-case hex, colon-separated, as Vault prints serials. */
  readonly serial: string;
  readonly notAfterMs: number;
}

/** Vault's `certutil.ValidateKeyTypeLength`: the default bits (0) of a type, or its error. */
export function keySpec(type: string, bits: number): PkiKeySpec | string {
  if (type === 'rsa') {
    const b = bits === 0 ? 2048 : bits;
    return [2048, 3072, 4096].includes(b) ? { type, bits: b } : `unsupported bit length for RSA key: ${b}`;
  }
  if (type === 'ec') {
    const b = bits === 0 ? 256 : bits;
    return [256, 384].includes(b) ? { type, bits: b } : `unsupported bit length for EC key: ${b}`;
  }
  return `unknown key type: ${type}`;
}

const generation = (spec: PkiKeySpec): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams =>
  spec.type === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: spec.bits === 384 ? 'P-384' : 'P-256' };

/** Signs as Vault does by default: SHA-256 for RSA, the curve's size for ECDSA. */
const signing = (spec: PkiKeySpec): webcrypto.Algorithm | webcrypto.EcdsaParams =>
  spec.type === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: spec.bits === 384 ? 'SHA-384' : 'SHA-256' };

export async function generateKeyPair(spec: PkiKeySpec): Promise<PkiKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(generation(spec), true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: spec.type === 'rsa' ? 'pkcs1' : 'sec1' })
    .toString()
    .trim();
  return { spec, keys, privateKeyPem };
}

/** 20 random bytes, positive and without a leading zero byte, like `certutil.GenerateSerialNumber`. */
function newSerialHex(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export const colonSerial = (hex: string): string => hex.match(/../g)!.join(':');

/** Accepts Vault's colon- or hyphen-separated hex; answers the colon form. */
export const normalizeSerial = (text: string): string => colonSerial(text.toLowerCase().replace(/[-:]/g, ''));

/** Vault backdates NotBefore by 30 s (`not_before_duration`). */
const NOT_BEFORE_SKEW_MS = 30_000;

/** A name a certificate is for (subjectAltName). */
export interface SubjectName {
  readonly type: 'dns' | 'email' | 'ip';
  readonly value: string;
}

/** What one certificate is made with: whose key, signed by whom (itself when absent), for what, and when. */
export interface CertificateRequest {
  readonly key: PkiKeyPair;
  readonly issuer?: { readonly key: PkiKeyPair; readonly pem: string };
  /** An empty common name gives an empty subject. */
  readonly commonName: string;
  /** A CA (root or intermediate: CA:true, CertSign and CRLSign) rather than a leaf (DigitalSignature, KeyAgreement, KeyEncipherment; ServerAuth and ClientAuth). */
  readonly ca: boolean;
  readonly names: readonly SubjectName[];
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** A real X.509 certificate with the extensions Vault gives roots and role-issued leaves; intermediates too. */
export async function createCertificate(request: CertificateRequest): Promise<IssuedCertificate> {
  const lib = await x509();
  const serial = newSerialHex();
  const subject = request.commonName ? [{ CN: [request.commonName] }] : [];
  const signer = request.issuer?.key ?? request.key;
  const issuerName = request.issuer === undefined ? undefined : new lib.X509Certificate(request.issuer.pem).subject;
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: issuerName ?? subject,
    notBefore: new Date(request.notBeforeMs),
    notAfter: new Date(request.notAfterMs),
    publicKey: request.key.keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signing(signer.spec),
    extensions: [
      ...(request.ca
        ? [
            new lib.BasicConstraintsExtension(true, undefined, true),
            new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
          ]
        : [
            new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyAgreement | lib.KeyUsageFlags.keyEncipherment, true),
            new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth, lib.ExtendedKeyUsage.clientAuth]),
          ]),
      await lib.SubjectKeyIdentifierExtension.create(request.key.keys.publicKey),
      ...(request.issuer === undefined ? [] : [await lib.AuthorityKeyIdentifierExtension.create(request.issuer.key.keys.publicKey)]),
      ...(request.names.length > 0 ? [new lib.SubjectAlternativeNameExtension([...request.names])] : []),
    ],
  });
  return { pem: cert.toString('pem'), serial: colonSerial(serial), notAfterMs: request.notAfterMs };
}

/** A self-signed root CA as `root/generate/:type` makes it: CA:true, CertSign and CRLSign. */
export function createRootCertificate(key: PkiKeyPair, commonName: string, notAfterMs: number): Promise<IssuedCertificate> {
  const names: SubjectName[] = commonName.includes('@') || !isHostname(commonName) ? [] : [{ type: 'dns', value: commonName }];
  return createCertificate({ key, commonName, ca: true, names, notBeforeMs: Date.now() - NOT_BEFORE_SKEW_MS, notAfterMs });
}

export interface LeafRequest {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly emails: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notAfterMs: number;
}

/** A leaf signed by the CA with a role's defaults: DigitalSignature, KeyAgreement, KeyEncipherment; ServerAuth and ClientAuth. */
export function createLeafCertificate(leaf: PkiKeyPair, ca: { key: PkiKeyPair; pem: string }, request: LeafRequest): Promise<IssuedCertificate> {
  const names: SubjectName[] = [
    ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...request.emails.map((value) => ({ type: 'email' as const, value })),
    ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  return createCertificate({ key: leaf, issuer: ca, commonName: request.commonName, ca: false, names, notBeforeMs: Date.now() - NOT_BEFORE_SKEW_MS, notAfterMs: request.notAfterMs });
}

/** The CA's complete CRL (v2, 72 h validity as Vault's default `expiry`) over the revoked serials. */
export async function createCrl(ca: { key: PkiKeyPair; pem: string }, revoked: ReadonlyArray<{ serial: string; atMs: number }>): Promise<string> {
  const lib = await x509();
  const issuer = new lib.X509Certificate(ca.pem);
  const crl = await lib.X509CrlGenerator.create({
    issuer: issuer.subject,
    thisUpdate: new Date(),
    nextUpdate: new Date(Date.now() + 72 * 3_600_000),
    signingKey: ca.key.keys.privateKey,
    signingAlgorithm: signing(ca.key.spec),
    entries: revoked.map((r) => ({ serialNumber: r.serial.replace(/:/g, ''), revocationDate: new Date(r.atMs) })),
    extensions: [await lib.AuthorityKeyIdentifierExtension.create(ca.key.keys.publicKey)],
  });
  return crl.toString('pem');
}

/** Vault's `hostnameRegex`: dot-separated labels of letters, digits and inner hyphens. */
export function isHostname(name: string): boolean {
  return /^(\*\.)?(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\.?$/.test(name);
}

export const isIpAddress = (text: string): boolean => isIP(text) !== 0;
