import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SecretStore, verifyAuditFile, type AuditTrail } from '@keyward/core';
import { KEYWARD_AUDIT_TRAIL } from '@keyward/nestjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import request from 'supertest';
import { AppModule } from '../apps/demo-nest/src/app.module.js';
import { waitFor } from '@keyward/test-support';
import { demoEnvFile } from './support/demo-env.js';

describe('demo-nest', () => {
  const env = demoEnvFile();
  const log: string[] = [];
  const capture = (...args: unknown[]) => void log.push(format(...args));
  const logger: LoggerService = { log: capture, error: capture, warn: capture, debug: capture, verbose: capture, fatal: capture };
  let app: INestApplication;

  beforeAll(async () => {
    process.env['KEYWARD_BACKEND'] = 'dotenv';
    app = await NestFactory.create(AppModule.forEnvFile(env.path), { logger, abortOnError: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
    env.remove();
  });

  it('answers GET /health through terminus with the store and audit health and no value', async () => {
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { keyward: { status: 'up', health: 'ok', checks: { audit: { status: 'ok', delivery: 'ok' } } } }, error: {} });
    expect(res.body.details.keyward.checks.store.secrets.database).toMatchObject({ status: 'ok', provider: 'dotenv', version: 'v1' });
  });

  it('logs a rotation of the .env file in redacted form, and nothing it says or answers holds a value', async () => {
    const before = await request(app.getHttpServer()).get('/').expect(200);
    expect(before.body.secrets).toContain('[secret database@v1]');
    env.rotate();
    await waitFor(() => log.some((l) => l.includes('secret rotated: [secret database')), 2000, 'the rotated log line');
    expect(log.find((l) => l.includes('secret rotated: [secret database'))).toContain('[secret database@v1] -> [secret database@v2] (watch)');

    const responses = [
      before,
      await request(app.getHttpServer()).get('/').expect(200),
      await request(app.getHttpServer()).get('/health').expect(200),
      await request(app.getHttpServer()).get('/sign/hello').expect(401),
      await request(app.getHttpServer()).get('/missing').expect(404),
    ];
    const everything = [...responses.map((r) => `${JSON.stringify(r.headers)} ${r.text}`), ...log].join('\n');
    for (const value of env.canaries) expect(everything).not.toContain(value);
  });

  it('guards its routes with API keys: a rotation keeps the old key working in its grace (Deprecation, Sunset, counted), a revoke ends it', async () => {
    const http = () => request(app.getHttpServer());
    // The ring file is watched; wait until the app's copy is what was written last, not just any newer read.
    const waitForRing = async () => waitFor(() => env.ringLoadedBy(app.get(SecretStore)), 2000, 'the ring file read again');

    const first = await env.apiKeys.create({ client: 'partner', scopes: ['sign'] });
    const operator = await env.apiKeys.create({ client: 'operator', scopes: ['keys:admin'] });
    await waitForRing();
    await http().get('/sign/hello').set('X-API-Key', first.key).expect(200);
    await http().get('/db').set('X-API-Key', first.key).expect(403);
    expect((await http().get('/sign/hello').expect(401)).headers['www-authenticate']).toContain('ApiKey');

    const second = await env.apiKeys.rotate({ client: 'partner', grace: '24h' });
    await waitForRing();
    const inGrace = await http().get('/sign/hello').set('Authorization', `Bearer ${first.key}`).expect(200);
    // RFC 9745: the moment of the rotation, in epoch seconds.
    expect(Number(inGrace.headers['deprecation']!.slice(1)) * 1000).toBeGreaterThan(Date.now() - 60_000);
    expect(inGrace.headers['deprecation']).toMatch(/^@\d+$/);
    expect(Date.parse(inGrace.headers['sunset']!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const fresh = await http().get('/sign/hello').set('X-API-Key', second.key).expect(200);
    expect(fresh.headers['deprecation']).toBeUndefined();
    const usage = await http().get('/admin/api-keys/usage').set('X-API-Key', operator.key).expect(200);
    expect(usage.body.previousKeyUses).toEqual([{ client: 'partner', keyId: first.keyId, uses: 1, lastUsedAt: expect.any(String), sunset: expect.any(String) }]);
    // The grace's end, as the Sunset header told the client (an HTTP date: to the second).
    expect(Math.abs(Date.parse(usage.body.previousKeyUses[0].sunset) - Date.parse(inGrace.headers['sunset']!))).toBeLessThan(1000);

    await env.apiKeys.revoke(first.keyId);
    await waitForRing();
    const revoked = await http().get('/sign/hello').set('X-API-Key', first.key).expect(401);
    expect(revoked.body.error.code).toBe('API_KEY_REVOKED');
    await http().get('/sign/hello').set('X-API-Key', second.key).expect(200);

    // The audit trail names who signed (keyId, client), the route template, the secrets read, and the revoke.
    const trail = app.get<AuditTrail>(KEYWARD_AUDIT_TRAIL);
    await waitFor(() => trail.health().pending === 0, 2000, 'the audit records written');
    const file = join(env.dir, 'logs', 'audit.jsonl');
    const records = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string; actor: { id?: string }; request?: { route: string; status: number }; secrets?: { name: string }[]; details?: { keyId?: string } });
    const graceUse = records.find((r) => r.event === 'http.request' && r.request?.route === '/sign/:text' && r.actor.id === first.keyId && r.request.status === 200)!;
    expect(graceUse.secrets!.map((x) => x.name).sort()).toEqual(['apiKeyPepper', 'apiKeys', 'sessionSecret']);
    expect(records.some((r) => r.event === 'api-key.revoked' && r.details?.keyId === first.keyId)).toBe(true);
    expect(await verifyAuditFile(file, env.auditKey)).toMatchObject({ ok: true });

    const everything = [inGrace, fresh, usage, revoked].map((r) => `${JSON.stringify(r.headers)} ${r.text}`).concat(log, readFileSync(file, 'utf8')).join('\n');
    for (const value of [...env.canaries, first.key, second.key, operator.key]) expect(everything).not.toContain(value);
  });
});
