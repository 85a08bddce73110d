import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { SecretStore, type PoolStats } from '@keyward/core';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import { canary, expectNoCanary, memoryProvider, waitFor } from '@keyward/test-support';
import { KeywardModule } from './keyward.module.js';
import { KeywardHealthIndicator } from './terminus.js';

describe('KeywardHealthIndicator (@nestjs/terminus)', () => {
  it('answers up (200) while the store is ok or degraded, down (503) with the details once it is down, and never a value', async () => {
    const token = canary('terminus-token');
    const password = canary('terminus-password');
    const provider = memoryProvider({ apiToken: token, database: { username: 'app', password } });
    const ended: PoolStats = { total: 0, idle: 0, busy: 0, waiting: 0, generations: [] };

    @Controller('health')
    class HealthController {
      constructor(
        @Inject(HealthCheckService) private readonly health: HealthCheckService,
        @Inject(KeywardHealthIndicator) private readonly keyward: KeywardHealthIndicator,
      ) {}

      @Get()
      @HealthCheck()
      check() {
        return this.health.check([() => this.keyward.isHealthy()]);
      }

      @Get('pools')
      @HealthCheck()
      pools() {
        return this.health.check([() => this.keyward.isHealthy('secrets', { pools: { database: { stats: () => ended } } })]);
      }
    }
    @Module({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        KeywardModule.forRoot({
          app: 'billing',
          environment: 'test',
          providers: { test: provider },
          secrets: { apiToken: { refresh: { interval: 20, jitter: 0 } }, database: { refresh: false } },
          maxStaleness: 300,
        }),
      ],
      controllers: [HealthController],
      providers: [KeywardHealthIndicator],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    const texts: string[] = [];
    const get = async (path: string, status: number) => {
      const res = await request(app.getHttpServer()).get(path).expect(status);
      texts.push(`${JSON.stringify(res.headers)} ${res.text}`);
      return res.body;
    };
    try {
      expect(await get('/health', 200)).toMatchObject({
        status: 'ok',
        info: { keyward: { status: 'up', health: 'ok', checkedAt: expect.any(String), checks: { store: { status: 'ok', secrets: { apiToken: { status: 'ok', provider: 'memory' } } } } } },
        error: {},
      });
      // A pool without an active generation is down, under the key the caller chose.
      expect(await get('/health/pools', 503)).toMatchObject({
        status: 'error',
        error: { secrets: { status: 'down', health: 'down', checks: { store: { status: 'ok' }, pools: { database: { status: 'down' } } } } },
      });

      provider.down = true;
      await waitFor(() => app.get(SecretStore).health().status === 'degraded', 2000, 'a failing refresh');
      expect(await get('/health', 200)).toMatchObject({ status: 'ok', info: { keyward: { status: 'up', health: 'degraded' } } });
      await waitFor(() => app.get(SecretStore).health().status === 'down', 2000, 'the secret past maxStaleness');
      expect(await get('/health', 503)).toMatchObject({
        status: 'error',
        error: { keyward: { status: 'down', health: 'down', checks: { store: { status: 'down', secrets: { apiToken: { status: 'down', error: 'PROVIDER_UNAVAILABLE' } } } } } },
        details: { keyward: { status: 'down' } },
      });
      expectNoCanary({ responses: texts.join('\n') }, token, password);
    } finally {
      await app.close();
    }
  });
});
