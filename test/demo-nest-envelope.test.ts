import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SecretStore } from '@keyward/core';
import { createPartnerWebhooksTable } from '@keyward/demo-shared/backends';
import request from 'supertest';
import { AppModule } from '../apps/demo-nest/src/app.module.js';
import { waitFor } from '@keyward/test-support';
import { postgresWithLoginRole } from '@keyward/test-support/postgres';
import { demoEnvFile } from './support/demo-env.js';

// The Nest demo on its .env with a real PostgreSQL: partners' webhook secrets sealed by the
// envelope the module injects, its KEK a local key set declared in .env. Adding ENVELOPE_KEK__2 to
// the file rotates the KEK with no restart; the admin route re-wraps the stored secrets.
describe('demo-nest: partner webhook secrets under a local KEK from .env', () => {
  const env = demoEnvFile();
  const db = postgresWithLoginRole(env.database.username, env.database.password);
  let app: INestApplication;

  beforeAll(async () => {
    await createPartnerWebhooksTable(db.postgres, `"${env.database.username}"`);
    Object.assign(process.env, { KEYWARD_BACKEND: 'dotenv', DEMO_DB_PORT: String(db.postgres.port), DEMO_DB_NAME: db.postgres.database });
    app = await NestFactory.create(AppModule.forEnvFile(env.path), { logger: false });
    await app.init();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    delete process.env['DEMO_DB_PORT'];
    delete process.env['DEMO_DB_NAME'];
    env.remove();
  });

  it('seals, signs, follows a KEK version added to .env, and re-wraps', async () => {
    const http = () => request(app.getHttpServer());
    const store = app.get(SecretStore);
    const ops = (await env.apiKeys.create({ client: 'ops', scopes: ['webhooks:admin', 'sign'] })).key;
    await waitFor(() => env.ringLoadedBy(store), 2000, 'the ring with the ops key');
    const secret = `whsec_${randomBytes(24).toString('hex')}`;
    const stored = await http().put('/partners/acme/webhook-secret').set('X-API-Key', ops).send({ secret }).expect(200);
    expect(stored.body).toEqual({ partner: 'acme', kek: { provider: 'local', keyId: 'envelopeKek', keyVersion: '1' } });
    const signed = await http().post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(201);
    expect(signed.body.signature).toBe(`sha256=${createHmac('sha256', secret).update(signed.body.event).digest('hex')}`);

    appendFileSync(env.path, `\nENVELOPE_KEK__2=${randomBytes(32).toString('base64')}\n`);
    await waitFor(() => Object.keys(store.get('envelopeKek').reveal() as object).includes('2'), 3000, 'the new KEK version read from .env');
    expect((await http().put('/partners/globex/webhook-secret').set('X-API-Key', ops).send({ secret: `whsec_${randomBytes(24).toString('hex')}` }).expect(200)).body.kek.keyVersion).toBe('2');
    expect((await http().get('/admin/envelope').set('X-API-Key', ops).expect(200)).body).toEqual({ rows: 2, byKekVersion: { '1': 1, '2': 1 } });
    expect((await http().post('/admin/envelope/rewrap').set('X-API-Key', ops).expect(201)).body).toMatchObject({ seen: 2, rewrapped: 1, alreadyCurrent: 1, failed: 0 });
    expect((await http().get('/admin/envelope').set('X-API-Key', ops).expect(200)).body).toEqual({ rows: 2, byKekVersion: { '2': 2 } });
    expect((await http().post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(201)).body.signature).toBe(signed.body.signature);
    await http().put('/partners/acme/webhook-secret').set('X-API-Key', ops).send({ secret: 42 }).expect(400);
    await http().put('/partners/acme/webhook-secret').send({ secret }).expect(401);
    expect([stored.text, signed.text].join('\n')).not.toContain(secret);
  }, 30_000);
});
