import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { fileKeyRing, keyRingAdmin, secretScanningHandler } from '@keyward/core';
import { closeAfterEach } from '@keyward/test-support';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYWARD_SECRET_SCANNING, secretScanningController } from './secret-scanning.controller.js';

const PEPPER = 'pepper-0123456789abcdef0123456789';

describe('secretScanningController', () => {
  const track = closeAfterEach();

  async function app(rawBody: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-nest-leak-'));
    track({ close: () => rm(dir, { recursive: true, force: true }) });
    const admin = keyRingAdmin({ backend: fileKeyRing(join(dir, 'ring.json')), pepper: PEPPER, env: 'live' });
    const leaked = await admin.create({ client: 'partner', scopes: [] });
    const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    @Module({
      controllers: [secretScanningController('hooks/github')],
      providers: [{ provide: KEYWARD_SECRET_SCANNING, useValue: secretScanningHandler({ admin, pepper: PEPPER, keys: { key: async (id) => (id === 'gh' ? github.publicKey : undefined) } }) }],
    })
    class LeakModule {}
    const nest = await NestFactory.create(LeakModule, { rawBody, logger: false });
    await nest.listen(0, '127.0.0.1');
    track({ close: () => nest.close() });
    const url = `http://127.0.0.1:${(nest.getHttpServer().address() as AddressInfo).port}/hooks/github`;
    const body = JSON.stringify([{ token: leaked.key, type: 'keyward_api_key', url: 'https://github.com/o/r/blob/1/.env', source: 'content' }]);
    const post = (signature: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'github-public-key-identifier': 'gh', 'github-public-key-signature': signature }, body });
    return { admin, leaked, post, signature: sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64') };
  }

  it('revokes the reported key and answers the labels, with the raw body Nest keeps (rawBody: true)', async () => {
    const { admin, leaked, post, signature } = await app(true);
    const forged = await post(sign('sha256', Buffer.from('other'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).toString('base64'));
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'SIGNATURE_INVALID' } });
    expect((await admin.list()).keys[0]!.status).toBe('current');

    const answer = await post(signature);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual([{ token_hash: createHash('sha256').update(leaked.key).digest('hex'), token_type: 'keyward_api_key', label: 'true_positive' }]);
    expect((await admin.list()).keys[0]!.status).toBe('revoked');
    expect((await post(signature)).status).toBe(409);
  });

  it('says how to fix it when the app does not keep raw bodies', async () => {
    const { admin, post, signature } = await app(false);
    const answer = await post(signature);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { code: 'REPORT_UNREADABLE', message: expect.stringContaining('rawBody: true') } });
    expect((await admin.list()).keys[0]!.status).toBe('current');
  });
});
