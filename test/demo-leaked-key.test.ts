import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseKeyRing, type SecretStore } from '@keyward/core';
import type { DemoSecrets } from '@keyward/demo-shared';
import { waitFor } from '@keyward/test-support';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runDemos, type RunningDemos } from './support/running-demos.js';

// The Express demo on Vault answers GitHub's secret-scanning reports: a key issued with the
// operators' CLI is reported (signed by a stand-in of GitHub, whose key is served as GitHub's meta
// API serves it), revoked in Vault by the app itself, and refused by both demos.
describe('demo: a key GitHub reports as leaked', () => {
  const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let meta: Server;
  let demos: RunningDemos;
  let key: string;

  beforeAll(async () => {
    meta = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: [{ key_identifier: 'gh-demo', key: github.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] })),
    );
    meta.listen(0, '127.0.0.1');
    await once(meta, 'listening');
    demos = await runDemos({ env: { KEYWARD_GITHUB_KEYS_URL: `http://127.0.0.1:${(meta.address() as AddressInfo).port}/meta/public_keys/secret_scanning` } });
    key = (await demos.cli.run('api-keys', 'create', '--client', 'careless', '--scopes', 'sign')).stdout.trim();
    const holds = (store: SecretStore<DemoSecrets>) => parseKeyRing(store.get('apiKeys').reveal()).keys.some((e) => key.includes(`_${e.keyId}_`));
    await waitFor(() => holds(demos.express.store) && holds(demos.nestStore), 5000, 'the key in both rings');
  }, 90_000);

  afterAll(async () => {
    await demos?.close();
    await new Promise((resolve) => meta?.close(resolve));
  }, 30_000);

  it('is revoked by the app in Vault, refused by both demos, and answered in the documented format', async () => {
    for (const base of [demos.expressBase, demos.nestBase]) expect((await fetch(`${base}/sign/hi`, { headers: { 'x-api-key': key } })).status).toBe(200);
    const body = JSON.stringify([{ token: key, type: 'keyward_api_key', url: 'https://github.com/octo/demo/blob/1a2b/.env', source: 'content' }]);
    const answer = await fetch(`${demos.expressBase}/github/secret-scanning`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'github-public-key-identifier': 'gh-demo', 'github-public-key-signature': sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64') },
      body,
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual([{ token_hash: createHash('sha256').update(key).digest('hex'), token_type: 'keyward_api_key', label: 'true_positive' }]);
    // In Vault: the operators' CLI lists it revoked.
    expect((await demos.cli.run('api-keys', 'list')).stdout).toMatch(/careless\s+revoked/);
    // Both demos refuse it once their ring is read again (200 ms here; at once through Redis when KEYWARD_REDIS_URL is set).
    for (const base of [demos.expressBase, demos.nestBase]) {
      let status = 0;
      for (let i = 0; i < 60 && status !== 401; i++) {
        status = (await fetch(`${base}/sign/hi`, { headers: { 'x-api-key': key } })).status;
        if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(401);
    }
  });
});
