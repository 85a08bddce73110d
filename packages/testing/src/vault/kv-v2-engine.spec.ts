import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import vault from 'node-vault';
import { callVault } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

describe('KV v2 secrets engine', () => {
  let server: VaultDevServer;
  let client: vault.client;

  beforeAll(async () => {
    server = await startVaultDevServer({ kvMounts: ['secret', 'team/kv'] });
    client = vault({ endpoint: server.url, token: server.rootToken });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('writes versions and reads the latest or a given one through node-vault', async () => {
    const first = await client.write('secret/data/app/db', { data: { password: 'one' } });
    expect(first.data).toMatchObject({ version: 1, destroyed: false, deletion_time: '' });
    await client.write('secret/data/app/db', { data: { password: 'two' } });
    const latest = await client.read('secret/data/app/db');
    expect(latest.data.data).toEqual({ password: 'two' });
    expect(latest.data.metadata.version).toBe(2);
    expect(latest.mount_type).toBe('kv');
    const old = await client.read('secret/data/app/db?version=1');
    expect(old.data.data).toEqual({ password: 'one' });
  });

  it('enforces check-and-set with Vault\'s messages', async () => {
    await client.write('secret/data/cas', { data: { a: 1 }, options: { cas: 0 } });
    await expect(client.write('secret/data/cas', { data: { a: 2 }, options: { cas: 0 } })).rejects.toMatchObject({
      message: 'check-and-set parameter did not match the current version',
      response: { statusCode: 400 },
    });
    await client.write('secret/data/cas', { data: { a: 2 }, options: { cas: 1 } });
    await client.write('secret/metadata/cas', { cas_required: true });
    await expect(client.write('secret/data/cas', { data: { a: 3 } })).rejects.toMatchObject({ message: 'check-and-set parameter required for this call' });
  });

  it('lists keys with LIST and with ?list=true, folders ending in /', async () => {
    await client.write('secret/data/list/a', { data: { x: 1 } });
    await client.write('secret/data/list/b/c', { data: { x: 1 } });
    expect((await client.list('secret/metadata/list')).data.keys).toEqual(['a', 'b/']);
    const viaGet = vault({ endpoint: server.url, token: server.rootToken, noCustomHTTPVerbs: true });
    expect((await viaGet.list('secret/metadata/list/b')).data.keys).toEqual(['c']);
    await expect(client.list('secret/metadata/nothing-here')).rejects.toMatchObject({ response: { statusCode: 404, body: { errors: [] } } });
  });

  it('answers a soft-deleted version with 404 and its metadata, and undeletes it', async () => {
    await client.write('secret/data/soft', { data: { v: 1 } });
    await client.delete('secret/data/soft');
    const err = (await client.read('secret/data/soft').catch((e: unknown) => e)) as { response: { statusCode: number; body: any } };
    expect(err.response.statusCode).toBe(404);
    expect(err.response.body.data.data).toBeNull();
    expect(err.response.body.data.metadata.deletion_time).not.toBe('');
    await client.write('secret/undelete/soft', { versions: [1] });
    expect((await client.read('secret/data/soft')).data.data).toEqual({ v: 1 });
  });

  it('destroys versions for good and deletes all metadata', async () => {
    await client.write('secret/data/gone', { data: { v: 1 } });
    await callVault(server, 'PUT', '/v1/secret/destroy/gone', { body: { versions: [1] } });
    const destroyed = await callVault(server, 'GET', '/v1/secret/data/gone');
    expect(destroyed.status).toBe(404);
    expect(destroyed.body.data.metadata.destroyed).toBe(true);
    await client.write('secret/undelete/gone', { versions: [1] });
    expect((await callVault(server, 'GET', '/v1/secret/data/gone')).status).toBe(404);
    await client.delete('secret/metadata/gone');
    expect(await callVault(server, 'GET', '/v1/secret/metadata/gone')).toMatchObject({ status: 404, body: { errors: [] } });
  });

  it('keeps max_versions versions and reports the oldest', async () => {
    await client.write('secret/metadata/capped', { max_versions: 2, custom_metadata: { owner: 'team-a' } });
    for (const v of [1, 2, 3]) await client.write('secret/data/capped', { data: { v } });
    const meta = (await client.read('secret/metadata/capped')).data;
    expect(Object.keys(meta.versions)).toEqual(['2', '3']);
    expect(meta).toMatchObject({ current_version: 3, oldest_version: 2, max_versions: 2, custom_metadata: { owner: 'team-a' } });
    expect((await callVault(server, 'GET', '/v1/secret/data/capped?version=1')).body).toEqual({ errors: [] });
  });

  it('patches with JSON merge patch (and wants its content type)', async () => {
    await client.write('secret/data/patch', { data: { a: 1, nested: { b: 2 } } });
    const patched = await client.update('secret/data/patch', { data: { nested: { c: 3 }, a: null } });
    expect(patched.data.version).toBe(2);
    expect((await client.read('secret/data/patch')).data.data).toEqual({ nested: { b: 2, c: 3 } });
    const wrongType = await callVault(server, 'PATCH', '/v1/secret/data/patch', { body: { data: {} } });
    expect(wrongType).toMatchObject({ status: 415, body: { errors: ['PATCH requires Content-Type of application/merge-patch+json, provided application/json'] } });
  });

  it('serves every configured mount and mounts more through sys/mounts', async () => {
    await client.write('team/kv/data/x', { data: { y: 1 } });
    expect((await client.read('team/kv/data/x')).data.data).toEqual({ y: 1 });
    await client.mount({ mount_point: 'extra', type: 'kv', options: { version: '2' } });
    await client.write('extra/data/z', { data: { z: 1 } });
    const mounts = await client.mounts();
    expect(mounts.data['extra/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    await expect(client.mount({ mount_point: 'extra', type: 'kv' })).rejects.toMatchObject({ message: 'path is already in use at extra/' });
  });

  it('keeps unversioned KV (v1) mounts working too', async () => {
    await client.mount({ mount_point: 'legacy', type: 'kv' });
    await client.write('legacy/app', { password: 'p' });
    expect((await client.read('legacy/app')).data).toEqual({ password: 'p' });
    expect((await client.list('legacy')).data.keys).toEqual(['app']);
  });
});
