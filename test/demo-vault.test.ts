import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDemoBackends, type DemoBackends } from '@keyward/demo-shared';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { waitFor } from './support/canary.js';

// The demo as `pnpm demo` runs it: static secrets from Vault KV, database credentials from
// Vault's database engine over a real PostgreSQL, AppRole login; with short credential TTLs so
// that a rotation happens during the test.
describe('demo on Vault and PostgreSQL', () => {
  let backends: DemoBackends;
  let demo: DemoApp;
  const log: string[] = [];

  beforeAll(async () => {
    backends = await startDemoBackends({ environment: 'test', credentialsTtl: '2s', credentialsMaxTtl: '4s' });
    Object.assign(process.env, backends.env, { KEYWARD_BACKEND: 'vault' });
    demo = await createDemoApp('/nonexistent/.env', (line) => log.push(line));
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
    await backends?.stop();
  });

  it('logs in to PostgreSQL with dynamic credentials, rotates them before max_ttl, and never shows a value', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.secrets).toMatchObject({
      sessionSecret: { status: 'ok', provider: 'vault-kv', version: 'v1' },
      database: { status: 'ok', provider: 'vault-database' },
    });
    const before = await request(demo.app).get('/db').expect(200);
    expect(before.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 1 });
    const first = demo.store.get('database');

    await waitFor(() => log.some((l) => l.startsWith('secret rotated: [secret database@')), 10_000, 'a rotation of the database credentials');
    // The pool switches to the new credentials and closes the old generation: one log line each.
    await waitFor(() => log.some((l) => /^database pool: generation 1 closed/.test(l)), 10_000, 'the old generation closed');
    expect(log.some((l) => /^database pool: generation 2 \(credentials .+\) took over from generation 1$/.test(l))).toBe(true);
    const after = await request(demo.app).get('/db').expect(200);
    expect(after.body).toMatchObject({ status: 'ok', loggedInAsCurrentUser: true, generation: 2 });
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
    const everything = [health, before, after, await request(demo.app).get('/').expect(200)]
      .map((r) => `${JSON.stringify(r.headers)} ${r.text}`)
      .concat(log)
      .join('\n');
    for (const value of values) expect(everything).not.toContain(value);
  }, 30_000);
});
