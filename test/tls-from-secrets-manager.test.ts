import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager } from '@keyward/aws';
import { keywardHealthReport, SecretStore, tlsFromSecret, type TlsFromSecretEvents } from '@keyward/core';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '@keyward/testing';
import { expectNoCanary, nextEvent } from '@keyward/test-support';
import { testCertificate, type TestCertificate } from '@keyward/test-support/tls';
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

/** The shape ACM's ExportCertificate answers, as teams store it in Secrets Manager. */
const acm = (leaf: TestCertificate, chain: TestCertificate[]) => JSON.stringify({ Certificate: leaf.cert, PrivateKey: leaf.key, CertificateChain: chain.map((c) => c.cert).join('') });
const keyBody = (pem: string) => pem.split('\n').slice(1, -2).join('');

describe('tlsFromSecret on a certificate kept in Secrets Manager', () => {
  let emulator: SecretsManagerEmulator;
  let admin: SecretsManagerClient;
  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator();
    admin = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    admin?.destroy();
    await emulator?.close();
  });

  it('serves it over real TLS, takes a new version on refresh, and refuses a version whose key is not the certificate’s', async () => {
    const root = await testCertificate({ ca: true, commonName: 'Shop Private Root' });
    const intermediate = await testCertificate({ ca: true, commonName: 'Shop Issuing CA', issuer: root });
    const [first, second, third] = await Promise.all([1, 2, 3].map(() => testCertificate({ issuer: intermediate })));
    await admin.send(new CreateSecretCommand({ Name: 'shop/production/tls', SecretString: acm(first!, [intermediate, root]) }));
    const store = await new SecretStore({
      app: 'shop',
      environment: 'production',
      providers: { production: awsSecretsManager({ client: admin }) },
      secrets: { tls: {} },
      refresh: false,
    }).start();
    const server = createServer();
    try {
      const cert = tlsFromSecret(store, 'tls');
      cert.attach(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const served = async () => {
        const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: root.cert });
        await once(socket, 'secureConnect');
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        return serial;
      };
      // The intermediate from CertificateChain is served with the leaf: a client with only the root completes the chain.
      expect(await served()).toBe(first!.serial);

      await admin.send(new PutSecretValueCommand({ SecretId: 'shop/production/tls', SecretString: acm(second!, [intermediate, root]) }));
      await store.refresh('tls');
      expect(await served()).toBe(second!.serial);

      // A botched upload: the third certificate with the second one's key.
      const botched = JSON.stringify({ Certificate: third!.cert, PrivateKey: second!.key, CertificateChain: intermediate.cert });
      const rejected = nextEvent<TlsFromSecretEvents['rejected'][0]>(cert, 'rejected');
      await admin.send(new PutSecretValueCommand({ SecretId: 'shop/production/tls', SecretString: botched }));
      await store.refresh('tls');
      expect((await rejected).problem).toBe('key-mismatch');
      expect(await served()).toBe(second!.serial);
      const report = keywardHealthReport({ store, tls: { https: cert } });
      expect(report).toMatchObject({ status: 'degraded', checks: { tls: { https: { status: 'degraded', certificate: { serial: second!.serial }, rejected: { problem: 'key-mismatch' } } } } });
      expectNoCanary({ health: JSON.stringify(report) }, keyBody(second!.key), keyBody(third!.key));
      cert.close();
    } finally {
      server.closeAllConnections();
      server.close();
      await store.close();
    }
  });
});
