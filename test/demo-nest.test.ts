import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { format } from 'node:util';
import request from 'supertest';
import { AppModule } from '../apps/demo-nest/src/app.module.js';
import { waitFor } from './support/canary.js';
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

  it('answers GET /health with the store health and no value', async () => {
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.secrets.database).toMatchObject({ status: 'ok', provider: 'dotenv', version: 'v1' });
  });

  it('logs a rotation of the .env file in redacted form, and nothing it says or answers holds a value', async () => {
    const before = await request(app.getHttpServer()).get('/').expect(200);
    expect(before.body.secrets).toContain('[secret database@v1]');
    env.rotate();
    await waitFor(() => log.some((l) => l.includes('secret rotated')), 2000, 'the rotated log line');
    expect(log.find((l) => l.includes('secret rotated'))).toContain('[secret database@v1] -> [secret database@v2] (watch)');

    const responses = [
      before,
      await request(app.getHttpServer()).get('/').expect(200),
      await request(app.getHttpServer()).get('/health').expect(200),
      await request(app.getHttpServer()).get('/sign/hello').expect(200),
      await request(app.getHttpServer()).get('/missing').expect(404),
    ];
    const everything = [...responses.map((r) => `${JSON.stringify(r.headers)} ${r.text}`), ...log].join('\n');
    for (const value of env.canaries) expect(everything).not.toContain(value);
  });
});
