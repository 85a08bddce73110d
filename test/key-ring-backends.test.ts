import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager, secretsManagerKeyRing } from '@keyward/aws';
import {
  createApiKeyVerifier,
  emptyKeyRing,
  fileKeyRing,
  fileProvider,
  keyRingAdmin,
  SecretStore,
  type KeyRingBackend,
  type SecretProvider,
} from '@keyward/core';
import { startSecretsManagerEmulator, startVaultDevServer, type SecretsManagerEmulator, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultKeyRing, vaultKv, type VaultConnection } from '@keyward/vault';
import { canary, expectNoCanary, memoryProvider } from '@keyward/test-support';

const PEPPER = canary('pepper');

/** One backend as operators write it and as the app reads it: the admin side and the matching store provider. */
interface Backend {
  readonly name: string;
  /** A fresh, empty ring location for one test. */
  fresh(): { backend: KeyRingBackend; provider: SecretProvider; path: string; format?: 'json' };
}

describe('key ring backends: check-and-set writes, and the app reads what operators wrote', () => {
  let vault: VaultDevServer;
  let connection: VaultConnection;
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    [vault, emulator, dir] = await Promise.all([startVaultDevServer(), startSecretsManagerEmulator(), mkdtemp(join(tmpdir(), 'keyward-rings-'))]);
    connection = createVaultConnection({ endpoint: vault.url, auth: tokenAuth({ token: vault.rootToken }) });
    client = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await connection.close();
    await Promise.all([vault.close(), emulator.close(), rm(dir, { recursive: true, force: true })]);
  });

  const backends: Backend[] = [
    {
      name: 'file',
      fresh: () => {
        const path = `ring-${++n}.json`;
        return { backend: fileKeyRing(join(dir, path)), provider: fileProvider({ root: dir, watch: false, location: () => path }), path, format: 'json' };
      },
    },
    {
      name: 'vault kv v2',
      fresh: () => {
        const path = `billing/live/api-keys-${++n}`;
        return { backend: vaultKeyRing({ connection, path }), provider: vaultKv({ connection }), path };
      },
    },
    {
      name: 'aws secrets manager',
      fresh: () => {
        const path = `billing/live/api-keys-${++n}`;
        return { backend: secretsManagerKeyRing({ client, secretId: path }), provider: awsSecretsManager({ client }), path };
      },
    },
  ];

  describe.each(backends)('$name', (spec) => {
    it('starts empty, writes from "nothing stored", and refuses a write computed from an old revision', async () => {
      const { backend } = spec.fresh();
      expect(await backend.read()).toEqual({ ring: emptyKeyRing(), revision: undefined });
      const admin = keyRingAdmin({ backend, pepper: PEPPER, env: 'live' });
      const created = await admin.create({ client: 'partner', scopes: ['reports:read'] });
      const stored = await backend.read();
      expect(stored.revision).toBe(created.revision);
      expect(stored.ring.keys).toEqual([expect.objectContaining({ keyId: created.keyId, client: 'partner', status: 'current' })]);

      await expect(backend.write(emptyKeyRing(), undefined)).rejects.toMatchObject({ code: 'KEY_RING_CONFLICT' });
      await admin.rotate({ client: 'partner', grace: '1h' });
      await expect(backend.write(emptyKeyRing(), created.revision)).rejects.toMatchObject({ code: 'KEY_RING_CONFLICT' });
      expect((await backend.read()).ring.keys).toHaveLength(2);
    });

    it('keeps every one of 8 concurrent rotations (none lost), each key verifying against the final ring', async () => {
      const { backend } = spec.fresh();
      const admin = () => keyRingAdmin({ backend, pepper: PEPPER, env: 'live', attempts: 20 });
      await Promise.all(['a', 'b', 'c'].map((c) => admin().create({ client: c, scopes: [] })));
      const issued = await Promise.all(['a', 'a', 'a', 'b', 'b', 'c', 'c', 'c'].map((c) => admin().rotate({ client: c, grace: '1h' })));
      const { ring } = await backend.read();
      expect(ring.keys).toHaveLength(3 + 8);
      const verifier = createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER });
      for (const { key } of issued) expect(['current', 'previous']).toContain(verifier.verify(key).status);
    });

    it('is what a store reads as a declared secret: a revoke written by the admin is refused after the next refresh', async () => {
      const { backend, provider, path, format } = spec.fresh();
      const admin = keyRingAdmin({ backend, pepper: PEPPER, env: 'live' });
      const issued = await admin.create({ client: 'partner', scopes: ['reports:read'] });
      const store = await new SecretStore({
        app: 'billing',
        environment: 'live',
        providers: { live: { default: provider, local: memoryProvider({ apiKeyPepper: PEPPER }) } },
        secrets: { apiKeys: { path, ...(format === undefined ? {} : { format }) }, apiKeyPepper: { provider: 'local' } },
        refresh: false,
      }).start();
      try {
        const verifier = createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() as string });
        expect(verifier.verify(issued.key, { scopes: ['reports:read'] })).toMatchObject({ client: 'partner', status: 'current' });
        await admin.revoke(issued.keyId);
        await store.refresh('apiKeys');
        expect(() => verifier.verify(issued.key)).toThrow(expect.objectContaining({ code: 'API_KEY_REVOKED' }));
        expectNoCanary({ ring: JSON.stringify((await backend.read()).ring), health: JSON.stringify(store.health()) }, PEPPER);
      } finally {
        await store.close();
      }
    });
  });

  it('aws: two writers past the AWSCURRENT check at once still cannot both land (the ClientRequestToken is the check-and-set)', async () => {
    const gated = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    let reachedPut!: () => void;
    const holding = new Promise<void>((resolve) => (reachedPut = resolve));
    gated.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutSecretValueCommand' && held++ === 0) {
          reachedPut();
          await gate;
        }
        return next(args);
      },
      { step: 'initialize', name: 'holdFirstPut' },
    );
    try {
      const secretId = `billing/live/api-keys-${++n}`;
      const first = keyRingAdmin({ backend: secretsManagerKeyRing({ client, secretId }), pepper: PEPPER, env: 'live' });
      await first.create({ client: 'a', scopes: [] });
      const { revision, ring } = await secretsManagerKeyRing({ client, secretId }).read();
      // Different contents: the same token with the same contents would be AWS's idempotent retry.
      const slow = secretsManagerKeyRing({ client: gated, secretId }).write({ version: 1, keys: [] }, revision);
      await holding; // the slow writer is now held inside PutSecretValue, past its check
      const fast = await secretsManagerKeyRing({ client, secretId }).write(ring, revision);
      release();
      await expect(slow).rejects.toMatchObject({ code: 'KEY_RING_CONFLICT' });
      expect((await secretsManagerKeyRing({ client, secretId }).read()).revision).toBe(fast);
    } finally {
      gated.destroy();
    }
  });
});
