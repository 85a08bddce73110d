import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../apps/demo-express/src/app.js';
import { canary, waitFor } from './support/canary.js';

describe('demo-express', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
  const envFile = join(dir, '.env');
  const values = {
    SESSION_SECRET: canary('session').padEnd(40, 'x'),
    PAYMENTS_API_KEY: canary('payments'),
    DATABASE__USERNAME: canary('user'),
    DATABASE__PASSWORD: canary('password'),
  };
  const rotated = canary('rotated-password');
  const log: string[] = [];
  let demo: DemoApp;
  const write = (v: Record<string, string>) =>
    writeFileSync(envFile, Object.entries(v).map(([k, x]) => `${k}=${x}`).join('\n'));

  beforeAll(async () => {
    write(values);
    process.env['NODE_ENV'] = 'test';
    demo = await createDemoApp(envFile, (line) => log.push(line));
  });
  afterAll(async () => {
    await demo.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /health and its routes, rotates on a .env edit, and no value ever leaves the process', async () => {
    const health = await request(demo.app).get('/health').expect(200);
    expect(health.body.status).toBe('ok');
    expect(Object.keys(health.body.secrets)).toEqual(['sessionSecret', 'paymentsApiKey', 'database']);

    const index = await request(demo.app).get('/').expect(200);
    expect(index.body.secrets).toEqual(['[secret sessionSecret@v1]', '[secret paymentsApiKey@v1]', '[secret database@v1]']);

    write({ ...values, DATABASE__PASSWORD: rotated });
    await waitFor(() => log.some((l) => l.includes('secret rotated')), 2000, 'the rotated log line');
    expect(log).toContain('secret rotated: [secret database@v1] -> [secret database@v2] (watch)');

    const responses = [
      health,
      index,
      await request(demo.app).get('/').expect(200),
      await request(demo.app).get('/sign/hello').expect(200),
      await request(demo.app).get('/no-such-route').expect(404),
    ];
    const everything = [...responses.map((r) => `${JSON.stringify(r.headers)} ${r.text}`), ...log, JSON.stringify(demo.store.health())].join('\n');
    for (const value of [...Object.values(values), rotated]) expect(everything).not.toContain(value);
  });
});
