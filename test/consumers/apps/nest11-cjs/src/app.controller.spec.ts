import { auditDir, auditFile, auditKey, issued, pepper, stripeKey } from '../test/test-secrets';
import { readFileSync, rmSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SecretStore, verifyAuditFile, type AuditRecord, type Refreshable } from '@keyward/core';
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { CHARGES_SIGNER, StripeKeyRotations } from './charges-signer';
import request from 'supertest';
import { AppModule } from './app.module';

describe('AppController', () => {
  let app: INestApplication | undefined;
  const rotatedKeys: string[] = [];
  const server = () => app!.getHttpServer();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
    rmSync(auditDir, { recursive: true, force: true });
  });

  it('shows the secret only in its redacted form, without a key', async () => {
    const res = await request(server()).get('/').expect(200);
    expect(res.body.stripeKey).toMatch(/^\[secret stripeKey@.+\]$/);
    expect(res.text).not.toContain(stripeKey);
  });

  it('refuses /charges without a key (401) and serves it with one', async () => {
    const refused = await request(server()).get('/charges').expect(401);
    expect(refused.headers['www-authenticate']).toContain('ApiKey');
    expect(refused.body.error.code).toBe('API_KEY_MISSING');
    const served = await request(server()).get('/charges').set('X-API-Key', issued.key).expect(200);
    expect(served.body.client).toBe('partner');
    expect(served.text).not.toContain(stripeKey);
  });

  it('signs with a key rebuilt when stripeKey rotates, and tells @OnSecretRotated() methods', async () => {
    const next = `sk_test_${randomBytes(16).toString('hex')}`;
    process.env.STRIPE_KEY = next;
    await app!.get(SecretStore).refresh('stripeKey');
    const signer = app!.get<Refreshable<KeyObject>>(CHARGES_SIGNER);
    for (let i = 0; i < 100 && signer.version === 'v1'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(signer.version).toBe('v2');
    const served = await request(server()).get('/charges').set('X-API-Key', issued.key).expect(200);
    expect(served.body.signature).toBe(createHmac('sha256', next).update('charges').digest('hex'));
    expect(app!.get(StripeKeyRotations).seen).toEqual(['v1->v2']);
    rotatedKeys.push(next);
  });

  it('writes a chained audit record per request, without a secret in it', async () => {
    const res = await request(server()).get('/charges').set('Authorization', `Bearer ${issued.key}`).expect(200);
    await app!.close(); // the store first, then the trail, flushed
    app = undefined;

    const text = readFileSync(auditFile, 'utf8');
    const records = text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    const record = records.find((r) => r.event === 'http.request' && r.request?.id === res.headers['x-request-id']);
    expect(record).toMatchObject({ outcome: 'success', actor: { type: 'api-key', client: 'partner' }, request: { route: '/charges', status: 200 } });
    expect(await verifyAuditFile(auditFile, auditKey)).toMatchObject({ ok: true, records: records.length });
    for (const value of [stripeKey, ...rotatedKeys, pepper, auditKey, issued.key]) expect(text).not.toContain(value);
  });
});
