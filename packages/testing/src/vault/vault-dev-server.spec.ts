import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { inspect } from 'node:util';
import vault from 'node-vault';
import { callVault, eventually } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('startVaultDevServer: HTTP behaviour and fault injection', () => {
  let server: VaultDevServer;
  beforeAll(async () => {
    server = await startVaultDevServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('seals: every API answers 503, health says sealed, and seal(forMs) unseals by itself', async () => {
    server.seal(1_000);
    expect(await callVault(server, 'GET', '/v1/secret/data/x')).toMatchObject({ status: 503, body: { errors: ['Vault is sealed'] } });
    const health = await callVault(server, 'GET', '/v1/sys/health', { token: null });
    expect(health).toMatchObject({ status: 503, body: { sealed: true, initialized: true } });
    expect(health.body.cluster_name).toBeUndefined();
    expect((await callVault(server, 'GET', '/v1/sys/seal-status', { token: null })).body.sealed).toBe(true);
    // node-vault resolves sys/health answers of any status.
    expect((await vault({ endpoint: server.url }).health()).sealed).toBe(true);
    await eventually(async () => (await callVault(server, 'GET', '/v1/sys/health', { token: null })).status === 200, 5_000, 'the auto-unseal');
  });

  it('seals through the API and unseals with the key share', async () => {
    expect((await callVault(server, 'PUT', '/v1/sys/seal')).status).toBe(204);
    expect(await callVault(server, 'PUT', '/v1/sys/unseal', { token: null, body: { key: Buffer.alloc(32, 1).toString('base64') } })).toMatchObject({
      status: 400,
      body: { errors: ['Unseal failed, invalid key'] },
    });
    const unsealed = await callVault(server, 'PUT', '/v1/sys/unseal', { token: null, body: { key: server.unsealKey } });
    expect(unsealed.body).toMatchObject({ sealed: false, t: 1, n: 1, progress: 0, type: 'shamir' });
    expect((await callVault(server, 'GET', '/v1/sys/health?sealedcode=200&activecode=299', { token: null })).status).toBe(299);
  });

  it('adds latency to every reply', async () => {
    server.setLatency(150);
    const started = Date.now();
    await callVault(server, 'GET', '/v1/sys/health', { token: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    server.setLatency(0);
  });

  it('drops the next connections with no reply, then answers again', async () => {
    server.dropConnections(2);
    await expect(fetch(`${server.url}/v1/sys/health`)).rejects.toThrow();
    await expect(fetch(`${server.url}/v1/sys/health`)).rejects.toThrow();
    expect((await fetch(`${server.url}/v1/sys/health`)).status).toBe(200);
  });

  it('rate-limits with a quota: 429 and Retry-After', async () => {
    await callVault(server, 'POST', '/v1/sys/quotas/rate-limit/kv', { body: { rate: 2, interval: '1m', path: 'secret/' } });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await callVault(server, 'GET', '/v1/secret/data/limited'));
    expect(answers.map((a) => a.status)).toEqual([404, 404, 429]);
    expect(answers[2]!.body).toEqual({ errors: ['request path "secret/data/limited": rate limit quota exceeded'] });
    expect(Number(answers[2]!.headers.get('retry-after'))).toBeGreaterThan(0);
    await callVault(server, 'DELETE', '/v1/sys/quotas/rate-limit/kv');
  });

  it('answers like Vault for unknown paths, methods, bad JSON and bearer tokens', async () => {
    expect(await callVault(server, 'GET', '/v1/unknown/path')).toMatchObject({ status: 404, body: { errors: ['no handler for route "unknown/path". route entry not found.'] } });
    expect(await callVault(server, 'GET', '/v1/unknown/path', { token: null })).toMatchObject({ status: 403, body: { errors: ['permission denied'] } });
    expect(await callVault(server, 'GET', '/v1/secret/nothing')).toMatchObject({ status: 404, body: { errors: ['1 error occurred:\n\t* unsupported path\n\n'] } });
    expect(await callVault(server, 'DELETE', '/v1/secret/subkeys/x')).toMatchObject({ status: 405, body: { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] } });
    expect((await callVault(server, 'POST', '/v1/secret/data/x', { body: '[1,2]' })).body.errors[0]).toBe(
      'failed to parse JSON input: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
    const bearer = await callVault(server, 'GET', '/v1/auth/token/lookup-self', { token: null, headers: { Authorization: `Bearer ${server.rootToken}` } });
    expect(bearer.status).toBe(200);
    const namespaced = await callVault(server, 'GET', '/v1/auth/token/lookup-self', { headers: { 'X-Vault-Namespace': 'team-a/' } });
    expect(namespaced.status).toBe(200);
  });

  it('speaks LIST on keep-alive connections after bodies of either framing', async () => {
    await callVault(server, 'POST', '/v1/secret/data/pipe/a', { body: { data: { a: 1 } } });
    const body = JSON.stringify({ data: { b: 1 } });
    const requests =
      `POST /v1/secret/data/pipe/b HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      `POST /v1/secret/data/pipe/c HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` +
      `LIST /v1/secret/metadata/pipe HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\nConnection: close\r\n\r\n`;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.end(requests));
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw.match(/HTTP\/1\.1 200/g)).toHaveLength(3);
    expect(raw).toContain('"keys":["a","b","c"]');
  });

  it('keeps the root token out of inspect and JSON, and closes idempotently', async () => {
    const other = await startVaultDevServer({ rootToken: 'hvs.canary-root-token-000000', latencyMs: 0 });
    for (const text of [inspect(other), JSON.stringify(other), `${Object.keys(other)}`]) expect(text).not.toContain('canary-root-token');
    expect(other.rootToken).toBe('hvs.canary-root-token-000000');
    await Promise.all([other.close(), other.close()]);
    await other.close();
    await expect(fetch(`${other.url}/v1/sys/health`)).rejects.toThrow();
  });
});
