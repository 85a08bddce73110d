import { describe, expect, it } from '@jest/globals';
import { envProvider, SecretStore } from '@keyward/core';
import { Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test, type TestingModule } from '@nestjs/testing';
import { InjectSecret } from './inject-secret.decorator.js';
import type { KeywardModuleOptions, KeywardOptionsFactory } from './keyward.module-definition.js';
import { KeywardModule } from './keyward.module.js';
import type { SecretRef } from './secret-ref.js';
import { getSecretToken } from './secret-token.js';

const env = { API_TOKEN: 'token-1', DATABASE__USERNAME: 'app', DATABASE__PASSWORD: 'pw-1' };

function options(overrides: Partial<KeywardModuleOptions> = {}): KeywardModuleOptions {
  return {
    app: 'billing',
    environment: 'test',
    providers: { test: envProvider({ env }) },
    secrets: { apiToken: {}, database: { refresh: false } },
    refresh: { interval: '1h' },
    ...overrides,
  };
}

async function compile(...imports: (DynamicModule | Type)[]): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports }).compile();
  return moduleRef.init();
}

@Injectable()
class TokenUser {
  constructor(@InjectSecret('apiToken') readonly token: SecretRef<string>) {}
}

describe('KeywardModule', () => {
  it('starts the store before a provider that reads a secret while it is built', async () => {
    @Module({
      imports: [KeywardModule.forRoot(options())],
      providers: [
        {
          provide: 'DATABASE_CONFIG',
          inject: [SecretStore],
          useFactory: (store: SecretStore) => ({ user: (store.get('database').reveal() as Record<string, string>)['username'] }),
        },
      ],
    })
    class AppModule {}
    const app = await compile(AppModule);
    expect(app.get('DATABASE_CONFIG')).toEqual({ user: 'app' });
    expect(app.get(SecretStore).health().status).toBe('ok');
    await app.close();
  });

  it('takes options from a class with forRootAsync({ useClass }) and serves feature modules when global', async () => {
    @Injectable()
    class KeywardConfig implements KeywardOptionsFactory {
      createKeywardOptions() {
        return options();
      }
    }
    @Module({ providers: [TokenUser] })
    class FeatureModule {}
    const app = await compile(KeywardModule.forRootAsync({ useClass: KeywardConfig, isGlobal: true }), FeatureModule);
    expect(app.get(TokenUser).token.reveal()).toBe(env.API_TOKEN);
    await app.close();
  });

  it('gives a provider to a name first used after forRootAsync() was called', async () => {
    const keyward = KeywardModule.forRootAsync({
      useFactory: () => options({ secrets: { lateName: {} }, providers: { test: envProvider({ env: { LATE_NAME: 'late' } }) } }),
    });
    @Injectable()
    class LateUser {
      constructor(@InjectSecret('lateName') readonly late: SecretRef<string>) {}
    }
    @Module({ imports: [keyward], providers: [LateUser] })
    class AppModule {}
    const app = await compile(AppModule);
    expect(app.get(LateUser).late.reveal()).toBe('late');
    await app.close();
  });

  it('resolves the ref of a declared name by its token after bootstrap', async () => {
    const app = await compile(KeywardModule.forRoot(options({ secrets: { onlyDeclared: {} }, providers: { test: envProvider({ env: { ONLY_DECLARED: 'x' } }) } })));
    const ref = await app.resolve<SecretRef<string>>(getSecretToken('onlyDeclared'));
    expect(ref.reveal()).toBe('x');
    await app.close();
  });

  it('fails the bootstrap with SECRET_NOT_DECLARED for an injected name the store does not declare', async () => {
    @Module({ imports: [KeywardModule.forRoot(options({ secrets: { database: {} } }))], providers: [TokenUser] })
    class AppModule {}
    await expect(compile(AppModule)).rejects.toMatchObject({ code: 'SECRET_NOT_DECLARED', secret: 'apiToken' });
  });

  it('ignores an undeclared name that nothing in the app injects', async () => {
    getSecretToken('usedByAnotherApp');
    const app = await compile(KeywardModule.forRoot(options()));
    expect(app.get(SecretStore).names).toEqual(['apiToken', 'database']);
    await app.close();
  });

  describe('with the app\'s own ScheduleModule', () => {
    @Injectable()
    class Jobs {
      @Interval('jobs.tick', 3_600_000)
      tick() {}
    }
    @Module({ providers: [Jobs] })
    class JobsModule {}

    function registriesWith(app: TestingModule, name: string): number {
      const modules = [...app.get(ModulesContainer).values()].filter((m) => m.metatype === ScheduleModule);
      return modules.filter((m) => (m.providers.get(SchedulerRegistry)?.instance as SchedulerRegistry).getIntervals().includes(name)).length;
    }

    it('does not run the app\'s scheduled jobs a second time', async () => {
      const app = await compile(ScheduleModule.forRoot(), KeywardModule.forRoot(options()), JobsModule);
      expect(registriesWith(app, 'jobs.tick')).toBe(1);
      expect(registriesWith(app, 'keyward.refresh.apiToken')).toBe(1);
      await app.close();
    });

    it('refreshes in the app\'s registry with importScheduleModule: false, and removes its intervals on close', async () => {
      const app = await compile(
        ScheduleModule.forRoot(),
        KeywardModule.forRoot({ ...options(), importScheduleModule: false }),
        JobsModule,
      );
      const registry = app.get(SchedulerRegistry);
      expect(registry.getIntervals().sort()).toEqual(['jobs.tick', 'keyward.refresh.apiToken']);
      const store = app.get(SecretStore);
      await app.close();
      expect(registry.getIntervals()).toEqual([]);
      expect(store.health().status).toBe('down');
    });
  });

  it('asks for ScheduleModule when importScheduleModule is false and the app has none', async () => {
    await expect(compile(KeywardModule.forRoot({ ...options(), importScheduleModule: false }))).rejects.toThrow(/SchedulerRegistry/);
  });
});
