import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAuditFile } from '@keyward/core';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { waitFor } from '@keyward/test-support';
import { demoEnvFile } from './support/demo-env.js';

describe('demo-express', () => {
  const env = demoEnvFile();
  const log: string[] = [];
  let demo: DemoApp;

  beforeAll(async () => {
    process.env['KEYWARD_BACKEND'] = 'dotenv';
    process.env['NODE_ENV'] = 'test';
    demo = await createDemoApp(env.path, (line) => log.push(line));
  });
  afterAll(async () => {
    await demo.close();
    env.remove();
  });

  it('serves /health and its routes, rotates on a .env edit, and no value ever leaves the process', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.status).toBe('ok');
    expect(Object.keys(health.body.checks.store.secrets)).toEqual(['sessionSecret', 'paymentsApiKey', 'database', 'apiKeys', 'apiKeyPepper', 'auditKey', 'envelopeKek']);

    const index = await request(demo.app).get('/').expect(200);
    expect(index.body.secrets.slice(0, 3)).toEqual(['[secret sessionSecret@v1]', '[secret paymentsApiKey@v1]', '[secret database@v1]']);

    const signer = await env.apiKeys.create({ client: 'signer', scopes: ['sign'] });
    // The ring file is watched: the new key works as soon as the store has read it.
    await waitFor(() => env.ringLoadedBy(demo.store), 2000, 'the new ring read');

    env.rotate();
    await waitFor(() => log.some((l) => l.includes('secret rotated: [secret database')), 2000, 'the rotated log line');
    expect(log).toContain('secret rotated: [secret database@v1] -> [secret database@v2] (watch)');

    const responses = [
      health,
      index,
      await request(demo.app).get('/').expect(200),
      await request(demo.app).get('/sign/hello').set('X-API-Key', signer.key).expect(200),
      await request(demo.app).get('/no-such-route').expect(404),
    ];
    const refusals = [
      await request(demo.app).get('/sign/hello').expect(401),
      await request(demo.app).get('/db').set('X-API-Key', signer.key).expect(403),
    ];
    expect(refusals.map((r) => r.body.error.code)).toEqual(['API_KEY_MISSING', 'API_KEY_SCOPE']);
    responses.push(...refusals);
    // The audit trail: a record per request above, naming the secrets each one read, sealed in one chain.
    await waitFor(() => demo.trail.health().pending === 0, 2000, 'the audit records written');
    const trail = readFileSync(join(env.dir, 'logs', 'audit.jsonl'), 'utf8');
    const records = trail.trim().split('\n').map((line) => JSON.parse(line) as { event: string; request?: { route: string | null; status: number }; secrets?: { name: string }[]; actor: { type: string } });
    const signed = records.find((r) => r.event === 'http.request' && r.request?.route === '/sign/:text' && r.request.status === 200)!;
    expect(signed.actor).toMatchObject({ type: 'api-key', id: signer.keyId, client: 'signer' });
    expect(signed.secrets!.map((s) => s.name).sort()).toEqual(['apiKeyPepper', 'apiKeys', 'sessionSecret']);
    expect(records.filter((r) => r.event === 'http.request')).toHaveLength(responses.length);
    expect(records.map((r) => r.event)).toEqual(expect.arrayContaining(['store.started', 'api-key.created', 'secret.rotated']));
    expect(await verifyAuditFile(join(env.dir, 'logs', 'audit.jsonl'), env.auditKey)).toMatchObject({ ok: true });

    const everything = [...responses.map((r) => `${JSON.stringify(r.headers)} ${r.text}`), ...log, JSON.stringify(demo.store.health()), trail].join('\n');
    for (const value of [...env.canaries, signer.key]) expect(everything).not.toContain(value);
  });
});
