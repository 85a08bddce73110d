import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import { createApiKeyVerifier, parseEnvelope, parseKeyRing, verifyAuditFile } from '@keyward/core';
import { startDemoBackends, type DemoBackends } from '@keyward/demo-shared/backends';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { waitFor } from '@keyward/test-support';
import { demoCli } from './support/demo-cli.js';

// The demo as `pnpm demo` runs it: static secrets from Vault KV, database credentials from
// Vault's database engine over a real PostgreSQL, AppRole login; with short credential TTLs so
// that a rotation happens during the test.
describe('demo on Vault and PostgreSQL', () => {
  let backends: DemoBackends;
  let demo: DemoApp;
  /** A second instance of the same service, as a second pod would be. */
  let other: DemoApp;
  let cli: ReturnType<typeof demoCli>;
  let key: string;
  const log: string[] = [];
  const otherLog: string[] = [];
  const dirs = [mkdtempSync(join(tmpdir(), 'keyward-vault-demo-')), mkdtempSync(join(tmpdir(), 'keyward-vault-demo-'))] as const;

  beforeAll(async () => {
    backends = await startDemoBackends({ environment: 'test', credentialsTtl: '2s', credentialsMaxTtl: '4s' });
    // Both instances follow the key ring through the machine's Redis, and poll it only hourly: a change seen at once came through Redis.
    Object.assign(process.env, backends.env, { KEYWARD_BACKEND: 'vault', KEYWARD_REDIS_URL: REDIS, KEYWARD_API_KEY_RING_REFRESH: '1h' });
    // Each instance writes its own audit trail, beside its (absent) .env file.
    [demo, other] = await Promise.all([
      createDemoApp(join(dirs[0], '.env'), (line) => log.push(line)),
      createDemoApp(join(dirs[1], '.env'), (line) => otherLog.push(line)),
    ]);
    const subscribed = (lines: string[]) => lines.some((l) => l.includes('following changes through Redis'));
    await waitFor(() => subscribed(log) && subscribed(otherLog), 5000, 'both instances subscribed');
    // The operator's side, as the README shows it: `pnpm keyward api-keys create ...` with the config the launcher writes.
    cli = demoCli({ ...backends.cliConfig, redis: REDIS });
    key = (await cli.run('api-keys', 'create', '--client', 'tester', '--scopes', 'db:read,sign')).stdout.trim();
    await waitFor(() => [demo, other].every((d) => ringHolds(d, key)), 2000, 'the new key on both instances');
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    await other?.close();
    await backends?.stop();
    cli?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    delete process.env['KEYWARD_REDIS_URL'];
    delete process.env['KEYWARD_API_KEY_RING_REFRESH'];
  });

  it('logs in to PostgreSQL with dynamic credentials, rotates them before max_ttl, and never shows a value', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.checks.store.secrets).toMatchObject({
      sessionSecret: { status: 'ok', provider: 'vault-kv', version: 'v1' },
      database: { status: 'ok', provider: 'vault-database' },
    });
    const before = await request(demo.app).get('/db').set('X-API-Key', key).expect(200);
    expect(before.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 1 });
    const first = demo.store.get('database');

    await waitFor(() => log.some((l) => l.startsWith('secret rotated: [secret database@')), 10_000, 'a rotation of the database credentials');
    // The pool switches to the new credentials and closes the old generation: one log line each.
    await waitFor(() => log.some((l) => /^database pool: generation 1 closed/.test(l)), 10_000, 'the old generation closed');
    expect(log.some((l) => /^database pool: generation 2 \(credentials .+\) took over from generation 1$/.test(l))).toBe(true);
    const after = await request(demo.app).get('/db').set('X-API-Key', key).expect(200);
    expect(after.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 2 });
    // Health reports the pool on its new generation, the old one gone.
    const afterHealth = await request(demo.app).get('/health').expect(200);
    expect(afterHealth.body.checks.pools.database).toMatchObject({ status: 'ok', active: 2 });
    expect(afterHealth.body.checks.pools.database.generations.map((g: { id: number }) => g.id)).toEqual([2]);
    const second = demo.store.get('database');
    expect(second.reveal().username).not.toBe(first.reveal().username);

    // Every value the demo holds, scanned for in everything it answered and logged.
    const values = [
      demo.store.get('sessionSecret').reveal(),
      demo.store.get('paymentsApiKey').reveal(),
      first.reveal().username,
      first.reveal().password,
      second.reveal().username,
      second.reveal().password,
      backends.env['VAULT_SECRET_ID']!,
    ];
    const everything = [health, before, after, afterHealth, await request(demo.app).get('/').expect(200)]
      .map((r) => `${JSON.stringify(r.headers)} ${r.text}`)
      .concat(log)
      .join('\n');
    for (const value of [...values, key]) expect(everything).not.toContain(value);
  }, 30_000);

  it('a rotation from the CLI keeps the old key in its grace on both instances; a revoke reaches both within a second, through Redis', async () => {
    const rotated = await cli.run('api-keys', 'rotate', '--client', 'tester', '--grace', '24h');
    expect(rotated.stderr).toContain('notified');
    const fresh = rotated.stdout.trim();
    await waitFor(() => [demo, other].every((d) => ringHolds(d, fresh)), 5000, 'the rotated ring on both instances');
    for (const instance of [demo, other]) {
      const old = await request(instance.app).get('/sign/hello').set('X-API-Key', key).expect(200);
      expect(old.headers['deprecation']).toMatch(/^@\d+$/);
      expect(old.headers['sunset']).toBeDefined();
      await request(instance.app).get('/sign/hello').set('X-API-Key', fresh).expect(200);
    }

    const reasons: string[] = [];
    for (const instance of [demo, other]) instance.store.on('rotated', (e) => e.name === 'apiKeys' && reasons.push(e.reason));
    const keyId = key.split('_')[2]!;
    const revokedAt = Date.now();
    await cli.run('api-keys', 'revoke', '--key-id', keyId);
    // Polled hourly: seconds (the CLI's write to Vault included) can only mean the change came through Redis.
    await waitFor(() => [demo, other].every((d) => refuses(d, key) === 'API_KEY_REVOKED'), 5000, 'the revoke on both instances');
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(reasons).toEqual(['manual', 'manual']);
    for (const instance of [demo, other]) {
      const res = await request(instance.app).get('/sign/hello').set('X-API-Key', key).expect(401);
      expect(res.body.error.code).toBe('API_KEY_REVOKED');
      await request(instance.app).get('/sign/hello').set('X-API-Key', fresh).expect(200);
    }
    // Each instance's audit trail names the revoke (by keyId and client), chains, and holds no key or secret.
    const trails = dirs.map((dir) => join(dir, 'logs', 'audit.jsonl'));
    const revokedIn = (file: string) => readFileSync(file, 'utf8').includes(`"event":"api-key.revoked","actor":{"type":"service"`) && readFileSync(file, 'utf8').includes(keyId);
    await waitFor(() => trails.every(revokedIn), 2000, 'the revoke in both audit trails');
    for (const [i, file] of trails.entries()) {
      expect(await verifyAuditFile(file, [demo, other][i]!.store.get('auditKey').reveal())).toMatchObject({ ok: true });
    }
    const output = cli.runs.map((r) => r.stderr).concat(log, otherLog, trails.map((file) => readFileSync(file, 'utf8'))).join('\n');
    for (const value of [demo.store.get('apiKeyPepper').reveal(), demo.store.get('auditKey').reveal(), backends.vault.rootToken, key, fresh]) expect(output).not.toContain(value);
  }, 30_000);
});

describe('demo on Vault: partner webhook secrets sealed under a transit KEK', () => {
  let backends: DemoBackends;
  let demo: DemoApp;
  let cli: ReturnType<typeof demoCli>;
  const log: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'keyward-vault-envelope-'));

  beforeAll(async () => {
    backends = await startDemoBackends({ environment: 'test' });
    Object.assign(process.env, backends.env, { KEYWARD_BACKEND: 'vault', KEYWARD_API_KEY_RING_REFRESH: '200ms' });
    demo = await createDemoApp(join(dir, '.env'), (line) => log.push(line));
    cli = demoCli(backends.cliConfig);
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    await backends?.stop();
    cli?.remove();
    rmSync(dir, { recursive: true, force: true });
    delete process.env['KEYWARD_API_KEY_RING_REFRESH'];
  });

  it('stores a secret sealed in PostgreSQL, signs with it, and after `keyward envelope rotate-kek` re-wraps it without changing its ciphertext', async () => {
    const ops = (await cli.run('api-keys', 'create', '--client', 'ops', '--scopes', 'webhooks:admin,sign')).stdout.trim();
    await waitFor(() => ringHolds(demo, ops), 5000, 'the ops key in the ring');
    const secret = `whsec_${randomBytes(24).toString('hex')}`;
    const stored = await request(demo.app).put('/partners/acme/webhook-secret').set('X-API-Key', ops).send({ secret }).expect(200);
    expect(stored.body).toEqual({ partner: 'acme', kek: { provider: 'vault-transit', keyId: 'demo-envelopes', keyVersion: '1' } });
    await request(demo.app).put('/partners/globex/webhook-secret').set('X-API-Key', ops).send({ secret: `whsec_${randomBytes(24).toString('hex')}` }).expect(200);

    // The row holds an envelope, never the secret; the app signs with the secret it opens.
    const row = async () => {
      const admin = await backends.postgres.connect();
      try {
        return (await admin.query<{ secret: string }>(`SELECT secret FROM partner_webhooks WHERE partner = 'acme'`)).rows[0]!.secret;
      } finally {
        await admin.end();
      }
    };
    const sealed = await row();
    expect(sealed.startsWith('kw1.')).toBe(true);
    expect(sealed).not.toContain(secret);
    const signed = await request(demo.app).post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(200);
    expect(signed.body.signature).toBe(`sha256=${createHmac('sha256', secret).update(signed.body.event).digest('hex')}`);

    // The operator rotates the KEK from the CLI, as the README shows; the app re-wraps its rows.
    expect((await cli.run('envelope', 'rotate-kek')).stdout.trim()).toBe('2');
    expect((await request(demo.app).get('/admin/envelope').set('X-API-Key', ops).expect(200)).body).toEqual({ rows: 2, byKekVersion: { '1': 2 } });
    const rewrap = await request(demo.app).post('/admin/envelope/rewrap').set('X-API-Key', ops).expect(200);
    expect(rewrap.body).toMatchObject({ seen: 2, rewrapped: 2, alreadyCurrent: 0, failed: 0 });
    expect((await request(demo.app).get('/admin/envelope').set('X-API-Key', ops).expect(200)).body).toEqual({ rows: 2, byKekVersion: { '2': 2 } });
    const rewrapped = await row();
    expect(parseEnvelope(rewrapped).ciphertext.equals(parseEnvelope(sealed).ciphertext)).toBe(true);
    expect((await request(demo.app).post('/partners/acme/webhook-test').set('X-API-Key', ops).expect(200)).body.signature).toBe(signed.body.signature);
    // New secrets go under version 2; a bad id or body is refused before any work.
    await request(demo.app).put('/partners/ACME!/webhook-secret').set('X-API-Key', ops).send({ secret }).expect(400);
    await request(demo.app).put('/partners/initech/webhook-secret').set('X-API-Key', ops).send({ secret: 'short' }).expect(400);
    await request(demo.app).post('/partners/nobody/webhook-test').set('X-API-Key', ops).expect(404);

    const everything = [stored, signed, rewrap].map((r) => r.text).concat(log, cli.runs.map((r) => `${r.stdout}${r.stderr}`)).join('\n');
    expect(everything).not.toContain(secret);
  }, 60_000);
});

const REDIS = 'redis://127.0.0.1:6379';

/** Whether an instance's store holds the ring entry of `key`. */
function ringHolds(instance: DemoApp, key: string): boolean {
  return parseKeyRing(instance.store.get('apiKeys').reveal()).keys.some((entry) => entry.keyId === key.split('_')[2]);
}

/** The code an instance refuses `key` with, or undefined when it accepts it. */
function refuses(instance: DemoApp, key: string): string | undefined {
  try {
    createApiKeyVerifier({ ring: () => instance.store.get('apiKeys').reveal(), pepper: () => instance.store.get('apiKeyPepper').reveal() }).verify(key);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}
