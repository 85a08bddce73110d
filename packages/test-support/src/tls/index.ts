import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A certificate made for a test, with its private key (PKCS#8 PEM) and what signs with it. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** Uppercase hex, as `X509Certificate#serialNumber` prints it. */
  readonly serial: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly subject: string;
}

/** What a test certificate is made with; the defaults give a leaf for 127.0.0.1 and localhost, valid for an hour. */
export interface TestCertificateRequest {
  readonly commonName?: string;
  /** Signs it; self-signed when absent. */
  readonly issuer?: TestCertificate;
  /** A CA (root or intermediate) rather than a leaf. */
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Makes a real X.509 certificate (ECDSA P-256) for TLS tests: roots, intermediates and leaves
 * with chosen validity, so tests can build expired, not-yet-valid and incomplete chains.
 *
 * @example
 * const root = await testCertificate({ ca: true, commonName: 'Test Root' });
 * const leaf = await testCertificate({ issuer: root });
 * https.createServer({ cert: leaf.cert, key: leaf.key });
 */
export async function testCertificate(request: TestCertificateRequest = {}): Promise<TestCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serialBytes = randomBytes(16);
  serialBytes[0] = (serialBytes[0]! & 0x7f) | 0x01;
  const serial = serialBytes.toString('hex');
  const commonName = request.commonName ?? (request.ca ? 'Keyward Test CA' : 'localhost');
  const subject = `CN=${commonName}`;
  const names = [
    ...(request.dnsNames ?? (request.ca ? [] : ['localhost'])).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? (request.ca ? [] : ['127.0.0.1'])).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(request.ca === true, undefined, true),
    new x509.KeyUsagesExtension(
      request.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(request.ca ? [] : [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])]),
    ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
  ];
  const issuer = request.issuer;
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: issuer?.subject ?? subject,
    notBefore: request.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: request.notAfter ?? new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    signingAlgorithm: ALGORITHM,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { cert: cert.toString('pem') + '\n', key, serial: serial.toUpperCase(), keys, subject };
}
