import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { SecretStore, tlsFromSecret, type SecretProvider } from '@keyward/core';
import { mountPkiEngine, startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import express from 'express';

// HTTPS from a secret, in a CommonJS app on the packed tarballs: certificates from the Vault dev
// server's PKI engine, held by a store, served by an Express 4 app and swapped live.
describe('the shop over HTTPS, its certificate from a secret', () => {
  let vault: VaultDevServer;
  let ca: string;
  const issue = async () => {
    const res = await fetch(`${vault.url}/v1/pki/issue/web`, {
      method: 'POST',
      headers: { 'X-Vault-Token': vault.rootToken },
      body: JSON.stringify({ common_name: 'localhost', ip_sans: '127.0.0.1', ttl: '10m' }),
    });
    return ((await res.json()) as { data: Record<string, string> }).data;
  };
  beforeAll(async () => {
    vault = await startVaultDevServer();
    ({ caPem: ca } = await mountPkiEngine(vault, { roles: { web: {} } }));
  });
  afterAll(() => vault.close());

  it('serves the certificate the store holds and a rotated one to new connections', async () => {
    let current = await issue();
    const provider: SecretProvider = { kind: 'memory', locate: () => 'memory:tls', read: async () => ({ value: current, version: current['serial_number'] }) };
    const store = await new SecretStore({ app: 'shop', environment: 'production', providers: { production: provider }, secrets: { tls: {} }, refresh: false }).start();
    const cert = tlsFromSecret(store, 'tls');
    const app = express().get('/', (_req, res) => res.send('ok'));
    const server = cert.attach(createServer(cert.options(), app));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const served = async () => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'localhost', ca });
      await once(socket, 'secureConnect');
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      return serial;
    };
    try {
      const first = await served();
      expect(first).toBe(cert.certificate.serial);
      current = await issue();
      await store.refresh('tls');
      const second = await served();
      expect(second).not.toBe(first);
      expect(second).toBe(current['serial_number']!.replace(/:/g, '').toUpperCase());
      expect(cert.health().status).toBe('ok');
    } finally {
      cert.close();
      server.close();
      await store.close();
    }
  });
});
