import { createApiKeyVerifier, type ApiKeyVerifier, type SecretStore } from '@keyward/core';
import { followKeyRing, type KeyRingFollower } from '@keyward/redis';
import type { DemoSecrets } from './secrets.js';

/**
 * The scopes the demo routes require: `GET /sign/:text` and `POST /partners/:partner/webhook-test`
 * need `sign`, `GET /db` needs `db:read`, `GET /admin/api-keys/usage` needs `keys:admin`,
 * `PUT /partners/:partner/webhook-secret` and `/admin/envelope` need `webhooks:admin`.
 */
export const DEMO_SCOPES = { sign: 'sign', db: 'db:read', admin: 'keys:admin', webhooks: 'webhooks:admin' } as const;

export interface DemoApiKeys {
  readonly verifier: ApiKeyVerifier;
  /** Set when `KEYWARD_REDIS_URL` is: the ring is read again within a second of a change. */
  readonly follower: KeyRingFollower | undefined;
  close(): Promise<void>;
}

/**
 * The demos' API key check: the ring and the pepper are declared secrets, so the verifier sees a
 * new ring as soon as the store does (every 5 s, or at once through Redis pub/sub when
 * `KEYWARD_REDIS_URL` is set; polling takes over while Redis is away).
 *
 * @example
 * const apiKeys = demoApiKeys(store, { log });
 * app.get('/db', requireApiKey({ verifier: apiKeys.verifier, scopes: [DEMO_SCOPES.db] }), handler);
 */
export function demoApiKeys(
  store: SecretStore<DemoSecrets>,
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; verifier?: ApiKeyVerifier } = {},
): DemoApiKeys {
  const { env = process.env, log = console.log } = options;
  const verifier = options.verifier ?? createApiKeyVerifier({ ring: () => store.get('apiKeys').reveal(), pepper: () => store.get('apiKeyPepper').reveal() });
  const url = env['KEYWARD_REDIS_URL'];
  const follower =
    url === undefined || url === ''
      ? undefined
      : followKeyRing(store, 'apiKeys', { url, onStateChange: (state) => log(`api key ring: ${state === 'subscribed' ? 'following changes through Redis' : 'Redis is away, polling'}`) });
  return { verifier, follower, close: async () => follower?.close() };
}
