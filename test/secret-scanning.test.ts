import { describe, expect, it } from '@jest/globals';
import {
  createApiKeyVerifier,
  createAuditTrail,
  fileKeyRing,
  fileProvider,
  githubSecretScanningKeys,
  keyRingAdmin,
  parseKeyRing,
  secretScanningHandler,
  SecretStore,
  type AuditRecord,
} from '@keyward/core';
import { requireApiKey, secretScanningEndpoint } from '@keyward/express';
import { followKeyRing, redisKeyRingPublisher, redisReplayGuard } from '@keyward/redis';
import { closeAfterEach } from '@keyward/test-support';
import express from 'express';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_URL = 'redis://127.0.0.1:6379';
const PEPPER = randomBytes(32).toString('hex');
const AUDIT_KEY = randomBytes(32).toString('hex');

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// GitHub reports a Keyward key it found in a public repository: the report reaches the service over
// real HTTP on loopback, its signature is checked with the key GitHub publishes (served here by a
// local stand-in of GitHub's meta API), the key is revoked in the stored ring, the change goes out
// through the machine's Redis, and every instance refuses the key within seconds, though their
// stores would not read the ring again for an hour.
describe('a leaked key reported by GitHub secret scanning', () => {
  const track = closeAfterEach();

  it('is revoked everywhere within seconds, recorded in the audit trail, and answered in the documented format', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keyward-leak-'));
    track({ close: () => rm(root, { recursive: true, force: true }) });
    const channel = `keyward-test-${randomBytes(6).toString('hex')}`;

    // GitHub's side: its signing key, published at /meta/public_keys/secret_scanning.
    const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const meta = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: [{ key_identifier: 'gh-1', key: github.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] })),
    );
    const metaUrl = await listen(meta);
    track({ close: () => new Promise<void>((resolve) => meta.close(() => resolve())) });

    // The operators' ring, with Redis to tell the instances.
    const publisher = track(redisKeyRingPublisher({ url: REDIS_URL, channel }));
    const admin = keyRingAdmin({ backend: fileKeyRing(join(root, 'apiKeys')), pepper: PEPPER, env: 'live', publish: publisher.publish });
    const leaked = await admin.create({ client: 'partner', scopes: ['orders:read'] });

    /** One instance of the service: a store that reads the ring hourly, a Redis follower, an API that needs a key. */
    async function instance() {
      const store = track(
        await new SecretStore({ app: 'shop', environment: 'test', providers: { test: fileProvider({ root, watch: false }) }, secrets: { apiKeys: { format: 'json' } }, refresh: { interval: '1h', jitter: 0 } }).start(),
      );
      const follower = track(followKeyRing(store, 'apiKeys', { url: REDIS_URL, channel }));
      await follower.subscribed();
      const verifier = createApiKeyVerifier({ ring: () => parseKeyRing(store.get('apiKeys').reveal()), pepper: () => PEPPER });
      const app = express();
      app.get('/orders', requireApiKey({ verifier, scopes: ['orders:read'] }), (_req, res) => void res.json({ orders: [] }));
      return app;
    }
    const [first, second] = [await instance(), await instance()];

    // The first instance also serves GitHub's reports (before any JSON parser: the signature covers the raw bytes).
    const file = join(root, 'audit.jsonl');
    const trail = await createAuditTrail({ key: AUDIT_KEY, service: 'shop', file });
    track(trail);
    // Both instances serve GitHub's reports, behind one load balancer: the replay guard is shared through Redis.
    const prefix = `keyward-test:${channel}:`;
    const keys = githubSecretScanningKeys({ url: `${metaUrl}/meta/public_keys/secret_scanning` });
    for (const app of [first, second]) {
      const replays = track(redisReplayGuard({ url: REDIS_URL, prefix }));
      app.post('/github/secret-scanning', secretScanningEndpoint(secretScanningHandler({ admin, pepper: PEPPER, audit: trail, keys, replays })));
      app.use(express.json());
    }
    const servers = [createServer(first), createServer(second)];
    const [firstUrl, secondUrl] = [await listen(servers[0]!), await listen(servers[1]!)];
    track({ close: async () => void (await Promise.all(servers.map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))))) });

    for (const url of [firstUrl, secondUrl]) expect((await fetch(`${url}/orders`, { headers: { 'x-api-key': leaked.key } })).status).toBe(200);

    // What GitHub sends: the matches as a JSON array, signed with its key.
    const body = JSON.stringify([
      { token: leaked.key, type: 'keyward_api_key', url: 'https://github.com/octo/shop/blob/0a1b2c/.env', source: 'content' },
      { token: 'kw_live_notAKeyAtAll', type: 'keyward_api_key', url: 'https://github.com/octo/shop/blob/0a1b2c/README.md', source: 'content' },
    ]);
    const headers = {
      'content-type': 'application/json',
      'github-public-key-identifier': 'gh-1',
      'github-public-key-signature': sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64'),
    };
    const report = () => fetch(`${firstUrl}/github/secret-scanning`, { method: 'POST', headers, body });

    // A forged report first: refused, nothing revoked.
    const forged = await fetch(`${firstUrl}/github/secret-scanning`, { method: 'POST', headers: { ...headers, 'github-public-key-signature': sign('sha256', Buffer.from(body), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).toString('base64') }, body });
    expect(forged.status).toBe(401);
    expect((await admin.list()).keys[0]!.status).toBe('current');

    const answer = await report();
    expect(answer.status).toBe(200);
    const labels = (await answer.json()) as unknown[];
    const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
    expect(labels).toEqual([
      { token_hash: sha256(leaked.key), token_type: 'keyward_api_key', label: 'true_positive' },
      { token_hash: sha256('kw_live_notAKeyAtAll'), token_type: 'keyward_api_key', label: 'false_positive' },
    ]);

    // Both instances refuse it within seconds: only the Redis notice can have told them.
    const revokedAt = Date.now();
    const refused = async (url: string) => (await fetch(`${url}/orders`, { headers: { 'x-api-key': leaked.key } })).status === 401;
    for (let i = 0; i < 100 && !((await refused(firstUrl)) && (await refused(secondUrl))); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const denied = await fetch(`${secondUrl}/orders`, { headers: { 'x-api-key': leaked.key } });
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('API_KEY_REVOKED');
    expect(Date.now() - revokedAt).toBeLessThan(5000);

    // Replayed as is, to either instance: refused, no second record.
    expect((await report()).status).toBe(409);
    const replayed = await fetch(`${secondUrl}/github/secret-scanning`, { method: 'POST', headers, body });
    expect(replayed.status).toBe(409);
    expect(((await replayed.json()) as { error: { code: string } }).error.code).toBe('REPORT_REPLAYED');
    await trail.close();
    const records = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    const leaks = records.filter((r) => r.event === 'api-key.leaked');
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatchObject({ outcome: 'success', details: { keyId: leaked.keyId, client: 'partner', foundAt: 'https://github.com/octo/shop/blob/0a1b2c/.env' } });
    expect(JSON.stringify(records)).not.toContain(leaked.key);
  });
});
