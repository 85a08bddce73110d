import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKeyRing } from '@keyward/core';
import { startAwsDemoBackends, type AwsDemoBackends } from '@keyward/demo-shared/backends';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { waitFor } from '@keyward/test-support';
import { demoCli } from './support/demo-cli.js';

// The demo on AWS Secrets Manager (the emulator) and a real PostgreSQL: the database login is
// the usual JSON secret; a single-user password change reaches the pool with no failed query.
describe('demo on AWS Secrets Manager and PostgreSQL', () => {
  let backends: AwsDemoBackends;
  let demo: DemoApp;
  let cli: ReturnType<typeof demoCli>;
  let key: string;
  const log: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'keyward-aws-demo-'));

  beforeAll(async () => {
    backends = await startAwsDemoBackends({ environment: 'test' });
    // No Redis here: the instance polls its key ring (every 500 ms for the test; 5 s by default).
    Object.assign(process.env, backends.env, { KEYWARD_API_KEY_RING_REFRESH: '500ms' });
    demo = await createDemoApp(join(dir, '.env'), (line) => log.push(line)); // no .env read here: its folder holds the audit trail
    cli = demoCli(backends.cliConfig, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    key = (await cli.run('api-keys', 'create', '--client', 'tester', '--scopes', 'db:read')).stdout.trim();
    await waitFor(() => parseKeyRing(demo.store.get('apiKeys').reveal()).keys.length === 1, 3000, 'the new key polled from Secrets Manager');
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    await backends?.stop();
    cli?.remove();
    rmSync(dir, { recursive: true, force: true });
    delete process.env['KEYWARD_API_KEY_RING_REFRESH'];
  });

  it('loads its secrets from Secrets Manager, follows password rotations (by hand and by the rotation Lambda) in its pool, and never shows a value', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.checks.store.secrets).toMatchObject({
      sessionSecret: { status: 'ok', provider: 'aws-secrets-manager' },
      database: { status: 'ok', provider: 'aws-secrets-manager' },
    });
    expect((await request(demo.app).get('/db').set('X-API-Key', key).expect(200)).body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 1 });

    // A single-user rotation, as the Lambda's setSecret and finishSecret do it: the database first, then AWSCURRENT.
    const id = 'demo/test/database';
    const current = JSON.parse((await backends.client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!) as Record<string, unknown>;
    const newPassword = `rotated-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const admin = await backends.postgres.connect();
    try {
      await admin.query(`ALTER ROLE demo_app PASSWORD '${newPassword}'`);
    } finally {
      await admin.end();
    }
    await backends.client.send(new PutSecretValueCommand({ SecretId: id, SecretString: JSON.stringify({ ...current, password: newPassword }) }));
    await demo.store.refresh('database');
    await waitFor(() => log.some((l) => /^database pool: generation 1 closed/.test(l)), 10_000, 'the old generation closed');
    const after = await request(demo.app).get('/db').set('X-API-Key', key).expect(200);
    expect(after.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 2 });

    // And a rotation as AWS runs it: RotateSecret calls the single-user Lambda (@keyward/aws-rotation);
    // the running app's store sees the new AWSCURRENT and emits rotated; its pool moves on.
    const rotated = new Promise<string>((resolve) => demo.store.on('rotated', (e) => e.name === 'database' && resolve(`${e.previous} -> ${e.current}`)));
    await backends.rotateDatabase();
    await demo.store.refresh('database');
    expect(await rotated).toMatch(/^\[secret database@.+\] -> \[secret database@.+\]$/);
    await waitFor(() => log.some((l) => /^database pool: generation 2 closed/.test(l)), 10_000, 'generation 2 closed');
    const third = await request(demo.app).get('/db').set('X-API-Key', key).expect(200);
    expect(third.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 3 });
    const rotatedByLambda = (demo.store.get('database').reveal() as { password: string }).password;
    expect(rotatedByLambda).not.toBe(newPassword);

    const values = [demo.store.get('sessionSecret').reveal(), demo.store.get('paymentsApiKey').reveal(), String(current['password']), newPassword, rotatedByLambda];
    const everything = [health, after, third, await request(demo.app).get('/').expect(200)].map((r) => `${JSON.stringify(r.headers)} ${r.text}`).concat(log).join('\n');
    for (const value of [...values, key]) expect(everything).not.toContain(value);
    await request(demo.app).get('/db').expect(401);
  }, 30_000);
  it('seals partner webhook secrets under the KMS key, and re-wraps them after `keyward envelope rotate-kek`', async () => {
    const ops = (await cli.run('api-keys', 'create', '--client', 'ops', '--scopes', 'webhooks:admin,sign')).stdout.trim();
    await waitFor(() => parseKeyRing(demo.store.get('apiKeys').reveal()).keys.some((k) => ops.includes(k.keyId)), 3000, 'the ops key polled');
    const secret = `whsec_${randomBytes(24).toString('hex')}`;
    const stored = await request(demo.app).put('/partners/acme/webhook-secret').set('X-API-Key', ops).send({ secret }).expect(200);
    expect(stored.body.kek).toMatchObject({ provider: 'aws-kms', keyId: expect.stringMatching(/^arn:aws:kms:/), keyVersion: expect.stringMatching(/^[a-f0-9]{64}$/) });
    const signed = await request(demo.app).post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(200);
    expect(signed.body.signature).toBe(`sha256=${createHmac('sha256', secret).update(signed.body.event).digest('hex')}`);

    const rotated = (await cli.run('envelope', 'rotate-kek')).stdout.trim();
    expect(rotated).toMatch(/^[a-f0-9]{64}$/);
    expect(rotated).not.toBe(stored.body.kek.keyVersion);
    expect((await request(demo.app).post('/admin/envelope/rewrap').set('X-API-Key', ops).expect(200)).body).toMatchObject({ seen: 1, rewrapped: 1, failed: 0 });
    expect((await request(demo.app).get('/admin/envelope').set('X-API-Key', ops).expect(200)).body).toEqual({ rows: 1, byKekVersion: { [rotated]: 1 } });
    expect((await request(demo.app).post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(200)).body.signature).toBe(signed.body.signature);
    expect([stored.text, signed.text, ...log].join('\n')).not.toContain(secret);
  }, 30_000);
});
