import { githubSecretScanningKeys, keyRingAdmin, secretScanningHandler, type AuditTrail, type SecretScanningHandler, type SecretStore } from '@keyward/core';
import { redisKeyRingPublisher, redisReplayGuard, type KeyRingPublisher, type RedisReplayGuard } from '@keyward/redis';
import { vaultKeyRing } from '@keyward/vault';
import { demoBackend, demoVaultConnection, type DemoSecrets } from './secrets.js';

/** The demo's endpoint for GitHub's secret-scanning reports, and what it needs closed. */
export interface DemoSecretScanning {
  readonly handler: SecretScanningHandler;
  close(): Promise<void>;
}

/**
 * What answers GitHub's secret-scanning reports in the demos (Vault backend only): the ring at
 * `secret/demo/<env>/api-keys`, written with the app's own AppRole (its policy may update that
 * one path), each revoke published through Redis when `KEYWARD_REDIS_URL` is set (and replays
 * refused across instances through it; in memory otherwise), and an
 * `api-key.leaked` record in the audit trail. GitHub's keys come from GitHub's meta API, or from
 * `KEYWARD_GITHUB_KEYS_URL` (a stand-in: these machines have no internet).
 *
 * @example const leaks = demoSecretScanning(store, trail); app.post('/github/secret-scanning', secretScanningEndpoint(leaks.handler));
 */
export function demoSecretScanning(store: SecretStore<DemoSecrets>, trail: AuditTrail, env: NodeJS.ProcessEnv = process.env): DemoSecretScanning | undefined {
  if (demoBackend(env) !== 'vault') return undefined;
  const redis = env['KEYWARD_REDIS_URL'];
  const publisher: KeyRingPublisher | undefined = redis ? redisKeyRingPublisher({ url: redis }) : undefined;
  const replays: RedisReplayGuard | undefined = redis ? redisReplayGuard({ url: redis }) : undefined;
  const backend = vaultKeyRing({ ...demoVaultConnection(env), path: `demo/${store.environment}/api-keys` });
  const admin = keyRingAdmin({ backend, pepper: () => store.get('apiKeyPepper').reveal(), env: 'test', ...(publisher === undefined ? {} : { publish: publisher.publish }) });
  const keysUrl = env['KEYWARD_GITHUB_KEYS_URL'];
  const handler = secretScanningHandler({
    admin,
    pepper: () => store.get('apiKeyPepper').reveal(),
    audit: trail,
    keys: githubSecretScanningKeys(keysUrl ? { url: keysUrl } : {}),
    ...(replays === undefined ? {} : { replays }),
  });
  return {
    handler,
    close: async () => {
      await backend.close?.();
      await publisher?.close();
      await replays?.close();
    },
  };
}
