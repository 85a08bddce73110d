import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { API_KEY_CHALLENGE as CHALLENGE, createApiKey, emptyKeyRing, revokeApiKey, SecretStore, type VerifiedApiKey } from '@keyward/core';
import { memoryProvider } from '@keyward/test-support';
import { ApiKeyGuard, ApiKeyPrincipal, KEYWARD_API_KEY_VERIFIER, KeywardExceptionFilter, KeywardModule, Public, RequireScopes } from '@keyward/nestjs';
import { Controller, Get, Module, UseGuards, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import fc from 'fast-check';
import request from 'supertest';
import { answer, expectChallengeByPresentation, expectRefused, HOUR, rotatedRing, T0 } from './support/api-keys.js';

const PEPPER = 'pepper-nest-0123456789abcdef0123456';
const { previous, current, clock, state, verifier } = rotatedRing(PEPPER);

/** The ring's verifier, the global guard and the filter, as an app wires them by hand. */
const guardedByVerifier = [
  { provide: KEYWARD_API_KEY_VERIFIER, useValue: verifier },
  { provide: APP_GUARD, useClass: ApiKeyGuard },
  { provide: APP_FILTER, useClass: KeywardExceptionFilter },
];

@RequireScopes('orders:read')
@Controller('orders')
class OrdersController {
  @Get()
  list(@ApiKeyPrincipal() principal: VerifiedApiKey) {
    return { principal };
  }

  @RequireScopes('admin')
  @Get('admin')
  admin() {
    return { ok: true };
  }

  @Public()
  @Get('public')
  open(@ApiKeyPrincipal() principal: VerifiedApiKey | undefined) {
    return { open: true, principal: principal ?? null };
  }
}

@Module({
  controllers: [OrdersController],
  providers: guardedByVerifier,
})
class AppModule {}

describe('ApiKeyGuard in a real Nest app', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });
  const get = (path: string) => request(app.getHttpServer()).get(path);

  it('accepts the current key and hands the principal to @ApiKeyPrincipal()', async () => {
    const res = await get('/orders').set('X-API-Key', current.key).expect(200);
    expect(res.body.principal).toEqual({ keyId: current.keyId, client: 'billing', scopes: ['orders:read', 'orders:write'], status: 'current' });
    expect(res.headers['deprecation']).toBeUndefined();
    expect(res.text).not.toContain(current.key);
  });

  it('accepts the previous key within its grace with Deprecation and Sunset, via Bearer too', async () => {
    const res = await get('/orders').set('Authorization', `Bearer ${previous.key}`).expect(200);
    expect(res.body.principal).toMatchObject({ keyId: previous.keyId, status: 'previous' });
    expect(res.headers['deprecation']).toBe(`@${T0 / 1000}`);
    expect(res.headers['sunset']).toBe(new Date(T0 + 24 * HOUR).toUTCString());
  });

  it('refuses the previous key after its grace, a revoked key, unknown, malformed and missing keys with 401', async () => {
    clock.now = T0 + 24 * HOUR;
    try {
      expectRefused(await get('/orders').set('X-API-Key', previous.key), 'API_KEY_EXPIRED', previous.key);
    } finally {
      clock.now = T0 + HOUR;
    }
    const before = state.ring;
    state.ring = revokeApiKey(state.ring, current.keyId, { now: T0 + HOUR });
    try {
      expectRefused(await get('/orders').set('X-API-Key', current.key), 'API_KEY_REVOKED', current.key);
    } finally {
      state.ring = before;
    }
    const unknown = createApiKey(emptyKeyRing(), { client: 'x', env: 'live', scopes: [], pepper: PEPPER }).key;
    expectRefused(await get('/orders').set('X-API-Key', unknown), 'API_KEY_UNKNOWN', unknown);
    expectRefused(await get('/orders').set('Authorization', 'Bearer kw_live_nope'), 'API_KEY_MALFORMED', 'kw_live_nope');
    expectRefused(await get('/orders').set('X-API-Key', 'k'.repeat(2000)), 'API_KEY_MALFORMED', 'k'.repeat(2000));
    expectRefused(await get('/orders'), 'API_KEY_MISSING');
  });

  it('sends the same challenge as Express for the same presentation: ApiKey for X-API-Key, ApiKey and Bearer invalid_token for a bearer token', async () => {
    await expectChallengeByPresentation(([name, value]) => get('/orders').set(name, value), PEPPER);
  });

  it('answers a scope required by the handler and missing from the key with 403', async () => {
    const res = await get('/orders/admin').set('X-API-Key', current.key).expect(403);
    expect(res.body).toEqual(answer('API_KEY_SCOPE'));
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('lets @Public() routes through without a key', async () => {
    await get('/orders/public').expect(200, { open: true, principal: null });
  });

  it('answers any header-legal value with 401, never 500, never echoing it', async () => {
    const legalChar = fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    );
    const value = fc.oneof(
      fc.string({ unit: legalChar, maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
      fc.tuple(legalChar, fc.integer({ min: 1025, max: 8192 })).map(([c, n]) => c.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.boolean(), async (raw, bearer) => {
        const res = await (bearer ? get('/orders').set('Authorization', `Bearer ${raw}`) : get('/orders').set('X-API-Key', raw));
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toContain(CHALLENGE);
        expect(res.body).toEqual(answer(res.body.error.code));
        if (raw.trim().length >= 8) expect(res.text).not.toContain(raw.trim());
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});

describe('KeywardModule.forRoot({ apiKeys }): the ring and pepper as declared secrets, the guard global', () => {
  const ringProvider = memoryProvider({ apiKeys: state.ring, apiKeyPepper: PEPPER });

  @Controller('reports')
  class ReportsController {
    @Public()
    @Get('public')
    open() {
      return { open: true };
    }

    @RequireScopes('orders:read')
    @Get()
    list(@ApiKeyPrincipal() principal: VerifiedApiKey) {
      return { client: principal.client };
    }

    @UseGuards(ApiKeyGuard)
    @Get('guarded')
    guarded() {
      return { guarded: true };
    }

    @Get('unmarked')
    unmarked() {
      return { unmarked: true };
    }
  }

  const appWith = async (globalGuard?: boolean) => {
    @Module({
      imports: [
        KeywardModule.forRoot({
          app: 'billing',
          environment: 'test',
          providers: { test: ringProvider },
          secrets: { apiKeys: {}, apiKeyPepper: {} },
          refresh: false,
          apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper', ...(globalGuard === undefined ? {} : { globalGuard }) },
        }),
      ],
      controllers: [ReportsController],
    })
    class ModuleWithKeys {}
    const app = await NestFactory.create(ModuleWithKeys, { logger: false });
    return app.init();
  };

  it('guards every route but @Public() ones, answers refusals itself, and follows a revoke as soon as the store reads it', async () => {
    const app = await appWith();
    try {
      const get = (path: string) => request(app.getHttpServer()).get(path);
      await get('/reports/public').expect(200);
      expectRefused(await get('/reports/unmarked'), 'API_KEY_MISSING');
      expect((await get('/reports').set('X-API-Key', current.key).expect(200)).body).toEqual({ client: 'billing' });

      ringProvider.values['apiKeys'] = revokeApiKey(state.ring, current.keyId);
      ringProvider.versions['apiKeys'] = 'v2';
      await app.get(SecretStore).refresh('apiKeys');
      expectRefused(await get('/reports').set('X-API-Key', current.key), 'API_KEY_REVOKED', current.key);
    } finally {
      ringProvider.values['apiKeys'] = state.ring;
      await app.close();
    }
  });

  it('with globalGuard: false provides the verifier only, for @UseGuards(ApiKeyGuard) where wanted', async () => {
    const app = await appWith(false);
    try {
      const get = (path: string) => request(app.getHttpServer()).get(path);
      await get('/reports/unmarked').expect(200);
      expectRefused(await get('/reports/guarded'), 'API_KEY_MISSING');
      await get('/reports/guarded').set('X-API-Key', current.key).expect(200);
      expect(app.get(KEYWARD_API_KEY_VERIFIER).verify(current.key).client).toBe('billing');
    } finally {
      await app.close();
    }
  });
});


describe('@Public() on a controller exempts only the handlers that declare no scopes', () => {
  @Public()
  @Controller('catalog')
  class CatalogController {
    @Get()
    list() {
      return { items: [] };
    }

    @RequireScopes('admin')
    @Get('admin')
    admin(@ApiKeyPrincipal() principal: VerifiedApiKey | undefined) {
      return { client: principal?.client ?? null };
    }

    @Public()
    @RequireScopes('admin')
    @Get('contradiction')
    contradiction() {
      return { ok: true };
    }
  }

  @Module({
    controllers: [CatalogController],
    providers: guardedByVerifier,
  })
  class CatalogModule {}

  let app: INestApplication;
  const before = state.ring;
  const ops = createApiKey(state.ring, { client: 'ops', env: 'live', scopes: ['admin'], pepper: PEPPER, now: T0 });
  beforeAll(async () => {
    state.ring = ops.ring;
    app = await NestFactory.create(CatalogModule, { logger: false });
    await app.init();
  });
  afterAll(async () => {
    state.ring = before;
    await app.close();
  });
  const get = (path: string) => request(app.getHttpServer()).get(path);

  it('lets a plain handler through without a key', async () => {
    await get('/catalog').expect(200, { items: [] });
  });

  it('holds a @RequireScopes() handler to a valid key with its scopes: 401 without, 403 lacking the scope, 200 with it', async () => {
    expectRefused(await get('/catalog/admin'), 'API_KEY_MISSING');
    expect((await get('/catalog/admin').set('X-API-Key', current.key).expect(403)).body).toEqual(answer('API_KEY_SCOPE'));
    await get('/catalog/admin').set('X-API-Key', ops.key).expect(200, { client: 'ops' });
  });

  it('refuses every request to a handler that is both @Public() and @RequireScopes(), keyed or not', async () => {
    for (const res of [await get('/catalog/contradiction'), await get('/catalog/contradiction').set('X-API-Key', ops.key)]) {
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('CONFIG_INVALID');
    }
  });
});

describe('ApiKeyGuard reads the decorators once per controller and handler', () => {
  it('a handler inherited by a controller with other class scopes is held to that controller\'s scopes', () => {
    @Controller('base')
    @RequireScopes('orders:read')
    class BaseController {
      @Get()
      list() {
        return [];
      }
    }
    @Controller('admin')
    @RequireScopes('admin')
    class AdminController extends BaseController {}
    const asked: (readonly string[])[] = [];
    const guard = new ApiKeyGuard(new Reflector(), {
      verify: (_key, options) => {
        asked.push(options?.scopes ?? []);
        return {} as VerifiedApiKey;
      },
    });
    const contextFor = (controller: object) =>
      ({
        getClass: () => controller,
        getHandler: () => BaseController.prototype.list,
        switchToHttp: () => ({ getRequest: () => ({ headers: { 'x-api-key': 'k' } }), getResponse: () => ({ setHeader: () => {} }) }),
      }) as unknown as ExecutionContext;
    for (const controller of [BaseController, AdminController, BaseController]) guard.canActivate(contextFor(controller));
    // The subclass's own @RequireScopes() replaces the base class's (reflect-metadata's lookup).
    expect(asked).toEqual([['orders:read'], ['admin'], ['orders:read']]);
  });
});
