import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { startAwsDemoBackends, type AwsDemoBackends } from '@keyward/demo-shared';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { waitFor } from './support/canary.js';

// The demo on AWS Secrets Manager (the emulator) and a real PostgreSQL: the database login is
// the usual JSON secret; a single-user password change reaches the pool with no failed query.
describe('demo on AWS Secrets Manager and PostgreSQL', () => {
  let backends: AwsDemoBackends;
  let demo: DemoApp;
  const log: string[] = [];

  beforeAll(async () => {
    backends = await startAwsDemoBackends({ environment: 'test' });
    Object.assign(process.env, backends.env);
    demo = await createDemoApp('/nonexistent/.env', (line) => log.push(line));
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    await backends?.stop();
  });

  it('loads its secrets from Secrets Manager, follows password rotations (by hand and by the rotation Lambda) in its pool, and never shows a value', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.secrets).toMatchObject({
      sessionSecret: { status: 'ok', provider: 'aws-secrets-manager' },
      database: { status: 'ok', provider: 'aws-secrets-manager' },
    });
    expect((await request(demo.app).get('/db').expect(200)).body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 1 });

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
    const after = await request(demo.app).get('/db').expect(200);
    expect(after.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 2 });

    // And a rotation as AWS runs it: RotateSecret calls the single-user Lambda (@keyward/aws-rotation);
    // the running app's store sees the new AWSCURRENT and emits rotated; its pool moves on.
    const rotated = new Promise<string>((resolve) => demo.store.once('rotated', (e) => resolve(`${e.previous} -> ${e.current}`)));
    await backends.rotateDatabase();
    await demo.store.refresh('database');
    expect(await rotated).toMatch(/^\[secret database@.+\] -> \[secret database@.+\]$/);
    await waitFor(() => log.some((l) => /^database pool: generation 2 closed/.test(l)), 10_000, 'generation 2 closed');
    const third = await request(demo.app).get('/db').expect(200);
    expect(third.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 3 });
    const rotatedByLambda = (demo.store.get('database').reveal() as { password: string }).password;
    expect(rotatedByLambda).not.toBe(newPassword);

    const values = [demo.store.get('sessionSecret').reveal(), demo.store.get('paymentsApiKey').reveal(), String(current['password']), newPassword, rotatedByLambda];
    const everything = [health, after, third, await request(demo.app).get('/').expect(200)].map((r) => `${JSON.stringify(r.headers)} ${r.text}`).concat(log).join('\n');
    for (const value of values) expect(everything).not.toContain(value);
  }, 30_000);
});
