import { describe, expect, it } from '@jest/globals';
import { createApiKeyVerifier, fileKeyRing, fileProvider, keyRingAdmin, parseKeyRing, SecretStore, type KeywardError } from '@keyward/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followKeyRing } from './key-ring-follower.js';
import { redisKeyRingPublisher } from './key-ring-publisher.js';
import { closeAfterEach, waitFor } from '@keyward/test-support';
import { randomChannel, REDIS_URL } from './spec-support/index.js';

const PEPPER = 'pepper-0123456789abcdef0123456789';

/** The code `verify` refuses `key` with, or `'accepted'`. */
function outcome(verifier: { verify(key: string): unknown }, key: string): string {
  try {
    verifier.verify(key);
    return 'accepted';
  } catch (err) {
    return (err as KeywardError).code;
  }
}

describe('a revoke through Redis pub/sub', () => {
  // Every store, follower, publisher and folder of a test is closed after it.
  const track = closeAfterEach();

  it('reaches every instance within a second, though their stores would not read the ring for an hour', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keyward-redis-e2e-'));
    track({ close: () => rm(root, { recursive: true, force: true }) });
    const channel = randomChannel();
    const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
    const admin = keyRingAdmin({ backend: fileKeyRing(join(root, 'apiKeyRing')), pepper: PEPPER, env: 'live', publish: publisher.publish });
    const issued = await admin.create({ client: 'billing', scopes: ['orders:read'] });
    expect(issued.published).toBe(true);

    /** One app instance: its own store (file provider, no watch, hourly refresh), follower and verifier. */
    async function instance() {
      const store = track(
        await new SecretStore({
          app: 'billing',
          environment: 'test',
          providers: { test: fileProvider({ root, watch: false }) },
          secrets: { apiKeyRing: { format: 'json' } },
          refresh: { interval: '1h', jitter: 0 },
        }).start(),
      );
      const follower = track(followKeyRing(store, 'apiKeyRing', { url: REDIS_URL, channel }));
      await follower.subscribed();
      const verifier = createApiKeyVerifier({ ring: () => parseKeyRing(store.get('apiKeyRing').reveal()), pepper: () => PEPPER });
      return { store, follower, verifier };
    }
    const instances = [await instance(), await instance()];
    for (const { verifier } of instances) expect(outcome(verifier, issued.key)).toBe('accepted');

    const revoked = await admin.revoke(issued.keyId);
    expect(revoked).toMatchObject({ published: true, entry: { keyId: issued.keyId, status: 'revoked' } });
    const revokedAt = Date.now();
    // The stores poll once an hour: refusing within seconds can only come from the published change.
    await waitFor(() => instances.every(({ verifier }) => outcome(verifier, issued.key) === 'API_KEY_REVOKED'), 5000, 'both instances to refuse the revoked key');
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    for (const { follower } of instances) expect(follower.state).toBe('subscribed');
  });
});
