import type { KekProvider } from '@keyward/core';
import { freePort, startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultTransitKek, type VaultConnection } from '@keyward/vault';
import { canary } from '@keyward/test-support';
import { describeKekConformance, describeRewrapInPostgres, type KekHarness } from '@keyward/test-support/envelope';
import { vaultAdmin } from '@keyward/test-support/vault';

// The envelope over Vault's transit engine in the dev server, driven through Vault's API as an
// operator would: a derived key, `rotate`, `min_decryption_version`, a sealed Vault.

const opened: { server: VaultDevServer; connections: VaultConnection[] }[] = [];

async function transitHarness(key: string): Promise<KekHarness> {
  const server = await startVaultDevServer({ rootToken: canary('root-token') });
  const admin = vaultAdmin(server.url, server.rootToken);
  await admin.call('POST', 'sys/mounts/transit', { type: 'transit' });
  await admin.call('POST', `transit/keys/${key}`, { derived: true });
  const auth = tokenAuth({ token: server.rootToken });
  const live = createVaultConnection({ endpoint: server.url, auth, timeout: '5s' });
  // Planted failures go to a Vault address where nothing listens: a dropped connection per call, never one already in flight.
  const dead = createVaultConnection({ endpoint: `http://127.0.0.1:${await freePort()}`, auth, timeout: '1s' });
  opened.push({ server, connections: [live, dead] });
  const liveKek = vaultTransitKek({ connection: live, key });
  const downKek = vaultTransitKek({ connection: dead, key });
  let failures = 0;
  const pick = (): KekProvider => (failures > 0 ? (failures--, downKek) : liveKek);
  const latest = async () => ((await admin.call('GET', `transit/keys/${key}`)) as { data: { latest_version: number } }).data.latest_version;
  return {
    kek: {
      provider: liveKek.provider,
      keyId: liveKek.keyId,
      generateDataKey: (o) => pick().generateDataKey(o),
      unwrapDataKey: (w, o) => pick().unwrapDataKey(w, o),
      rewrapDataKey: (w, o) => pick().rewrapDataKey(w, o),
      currentVersion: (o) => liveKek.currentVersion(o),
    },
    rotate: async () => void (await admin.call('POST', `transit/keys/${key}/rotate`)),
    retireOldVersions: async () => void (await admin.call('POST', `transit/keys/${key}/config`, { min_decryption_version: await latest() })),
    restoreVersions: async () => void (await admin.call('POST', `transit/keys/${key}/config`, { min_decryption_version: 1 })),
    retiringDisablesKey: false,
    failNext: (count) => void (failures += count),
    outage: () => server.seal(),
    recover: () => server.unseal(),
    unknownVersion: '99',
  };
}

async function closeAll(): Promise<void> {
  for (const { server, connections } of opened.splice(0)) {
    for (const connection of connections) await connection.close();
    await server.close();
  }
}

describeKekConformance('vaultTransitKek', () => transitHarness('conformance'), closeAll);
describeRewrapInPostgres('vaultTransitKek', () => transitHarness('notes'), closeAll);
