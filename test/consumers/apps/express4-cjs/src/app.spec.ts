import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, emptyKeyRing, verifyAuditFile, type AuditRecord } from '@keyward/core';
import request from 'supertest';
import { createApp, type ShopApp } from './app';

// The variables envProvider() reads, as a deployment would set them.
const stripeKey = `sk_test_${randomBytes(16).toString('hex')}`;
const pepper = randomBytes(32).toString('hex');
const auditKey = randomBytes(32).toString('hex');
const issued = createApiKey(emptyKeyRing(), { client: 'partner', env: 'live', scopes: ['charges:read'], pepper });
const envelopeKek = JSON.stringify({ '1': randomBytes(32).toString('base64') });
Object.assign(process.env, { STRIPE_KEY: stripeKey, API_KEYS: JSON.stringify(issued.ring), API_KEY_PEPPER: pepper, AUDIT_KEY: auditKey, ENVELOPE_KEK: envelopeKek });

describe('the shop with Keyward', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-audit-'));
  const auditFile = join(dir, 'audit.jsonl');
  let shop: ShopApp;
  beforeAll(async () => {
    shop = await createApp({ auditFile });
  });
  afterAll(async () => {
    await shop.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the secret only in its redacted form', async () => {
    const res = await request(shop.app).get('/').expect(200);
    expect(res.body.stripeKey).toMatch(/^\[secret stripeKey@.+\]$/);
    expect(res.text).not.toContain(stripeKey);
  });

  it('refuses /charges without a key (401) and serves it with one', async () => {
    const refused = await request(shop.app).get('/charges').expect(401);
    expect(refused.headers['www-authenticate']).toContain('ApiKey');
    expect(refused.body.error.code).toBe('API_KEY_MISSING');
    const served = await request(shop.app).get('/charges').set('X-API-Key', issued.key).expect(200);
    expect(served.body.client).toBe('partner');
    expect(served.text).not.toContain(stripeKey);
  });

  it('serves Keyward metrics to Prometheus: API key results, audit records, secret ages; no secret', async () => {
    await request(shop.app).get('/charges').expect(401);
    await request(shop.app).get('/charges').set('X-API-Key', issued.key).expect(200);
    const res = await request(shop.app).get('/metrics').expect(200);
    expect(res.text).toMatch(/^keyward_api_key_verifications_total\{keyward_api_key_result="missing"[^}]*\} [1-9]/m);
    expect(res.text).toMatch(/^keyward_api_key_verifications_total\{keyward_api_key_result="current"[^}]*\} [1-9]/m);
    expect(res.text).toMatch(/^keyward_audit_records_total\{keyward_audit_outcome="written"[^}]*\} [1-9]/m);
    expect(res.text).toMatch(/^keyward_secret_age\{keyward_secret_name="stripeKey",keyward_secret_provider="env"[^}]*\} /m);
    for (const value of [stripeKey, pepper, auditKey, issued.key]) expect(res.text).not.toContain(value);
  });

  it('stores a note sealed (envelope encryption) and reads it back; a missing note is DECRYPT-safe', async () => {
    const text = `note-${randomBytes(8).toString('hex')}`;
    const put = await request(shop.app).put('/notes/n1').set('X-API-Key', issued.key).send({ text }).expect(200);
    expect(put.body.sealed).toMatch(/^kw1\./);
    expect(put.body.sealed).not.toContain(text);
    expect((await request(shop.app).get('/notes/n1').set('X-API-Key', issued.key).expect(200)).body.text).toBe(text);
    const missing = await request(shop.app).get('/notes/none').set('X-API-Key', issued.key).expect(500);
    expect(missing.body.error.code).toBe('ENVELOPE_MALFORMED');
  });

  it('writes a chained audit record per request, without a secret in it', async () => {
    const res = await request(shop.app).get('/charges').set('Authorization', `Bearer ${issued.key}`).expect(200);
    await shop.close(); // flushes the trail
    shop = await createApp({ auditFile }); // and the chain resumes after a restart

    const text = readFileSync(auditFile, 'utf8');
    const records = text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    const record = records.find((r) => r.event === 'http.request' && r.request?.id === res.headers['x-request-id']);
    expect(record).toMatchObject({ outcome: 'success', actor: { type: 'api-key', client: 'partner' }, request: { route: '/charges', status: 200 } });
    expect(await verifyAuditFile(auditFile, auditKey)).toMatchObject({ ok: true, records: records.length });
    for (const value of [stripeKey, pepper, auditKey, issued.key]) expect(text).not.toContain(value);
  });
});
