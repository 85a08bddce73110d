import { describe, expect, it } from '@jest/globals';
import { KeywardError, type SecretProvider } from '@keyward/core';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import request from 'supertest';
import { InjectSecret } from './inject-secret.decorator.js';
import { KeywardExceptionFilter } from './keyward-exception.filter.js';
import { KeywardModule } from './keyward.module.js';
import type { SecretRef } from './secret-ref.js';

describe('KeywardExceptionFilter', () => {
  it('answers a secret past maxStaleness with 503, Retry-After and a fixed message that names nothing', async () => {
    let down = false;
    const value = 'canary-filter-0d9e1f';
    const provider: SecretProvider = {
      kind: 'memory',
      locate: () => 'memory:internal/billing/apiToken',
      async read() {
        if (down) throw new KeywardError('PROVIDER_UNAVAILABLE', 'backend unreachable');
        return { value };
      },
    };

    @Controller()
    class TokenController {
      constructor(@InjectSecret('apiToken') private readonly token: SecretRef<string>) {}
      @Get('token-length')
      length() {
        return { length: this.token.reveal().length };
      }
    }
    @Module({
      imports: [
        KeywardModule.forRoot({
          app: 'billing',
          environment: 'test',
          providers: { test: provider },
          secrets: { apiToken: { refresh: { interval: 20, jitter: 0 } } },
          maxStaleness: 100,
        }),
      ],
      controllers: [TokenController],
      providers: [{ provide: APP_FILTER, useClass: KeywardExceptionFilter }],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    try {
      await request(app.getHttpServer()).get('/token-length').expect(200, { length: value.length });
      down = true;
      const deadline = Date.now() + 3000;
      let res = await request(app.getHttpServer()).get('/token-length');
      while (res.status === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        res = await request(app.getHttpServer()).get('/token-length');
      }
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ error: { code: 'SECRET_STALE', message: 'A secret this service needs is temporarily unavailable.' } });
      expect(res.text).not.toContain('apiToken');
      expect(res.text).not.toContain(value);
    } finally {
      await app.close();
    }
  });
});
