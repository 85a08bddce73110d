import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditDir, auditFile, auditKey, issued, pepper, stripeKey } from '../test/test-secrets.js';
import { readFileSync, rmSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { verifyAuditFile, type AuditRecord } from '@keyward/core';
import request from 'supertest';
import { AppModule } from './app.module.js';

describe('AppController', () => {
  let app: INestApplication | undefined;
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

  it('stores a note sealed by the injected envelope and reads it back', async () => {
    const text = `note-${Date.now()}-${Math.random()}`;
    const put = await request(server()).put('/notes/n1').set('X-API-Key', issued.key).send({ text }).expect(200);
    expect(put.body.sealed).toMatch(/^kw1\./);
    expect(put.body.sealed).not.toContain(text);
    expect((await request(server()).get('/notes/n1').set('X-API-Key', issued.key).expect(200)).body.text).toBe(text);
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
    for (const value of [stripeKey, pepper, auditKey, issued.key]) expect(text).not.toContain(value);
  });
});
