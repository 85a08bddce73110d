import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { closeAfterEach, memoryProvider, thrown } from '@keyward/test-support';
import { keywardHealthReport } from '../health/keyward-health.js';
import { SecretStore } from './secret-store.js';

const VARIABLES = ['KEYWARD_ENV', 'NODE_ENV', 'KEYWARD_REQUIRE_ENV'] as const;

// The first tests of this file are the first in their process to fall back: the warning is once per process.
describe('SecretStore environment', () => {
  const track = closeAfterEach();
  const saved: Record<string, string | undefined> = {};
  let emitWarning: jest.SpiedFunction<typeof process.emitWarning>;
  const fallbackWarnings = () => emitWarning.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === 'KEYWARD_ENV_FALLBACK');

  beforeEach(() => {
    for (const name of VARIABLES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => {
    emitWarning.mockRestore();
    for (const name of VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  const store = (options: { environment?: string; requireEnvironment?: boolean } = {}) =>
    track(new SecretStore({ app: 'shop', providers: { '*': memoryProvider({ db: 'x' }) }, secrets: { db: {} }, refresh: false, ...options }));

  it('falls back to development with one process warning naming the three ways to choose, and says so in health', async () => {
    const first = store();
    expect(first.environment).toBe('development');
    store();
    expect(fallbackWarnings()).toHaveLength(1);
    const [message] = fallbackWarnings()[0]!;
    for (const way of ['development', '`environment`', 'KEYWARD_ENV', 'NODE_ENV', 'KEYWARD_REQUIRE_ENV']) expect(message).toContain(way);

    await first.start();
    expect(first.health()).toMatchObject({ status: 'ok', environment: { name: 'development', source: 'fallback' } });
    expect(keywardHealthReport({ store: first }).checks.store).toMatchObject({ status: 'ok', environment: { name: 'development', source: 'fallback' } });
  });

  it('takes the option first, then KEYWARD_ENV, then NODE_ENV, and tells health where it came from', () => {
    process.env['NODE_ENV'] = 'staging';
    expect(store().health().environment).toEqual({ name: 'staging', source: 'NODE_ENV' });
    process.env['KEYWARD_ENV'] = 'production';
    expect(store().health().environment).toEqual({ name: 'production', source: 'KEYWARD_ENV' });
    expect(store({ environment: 'qa' }).health().environment).toEqual({ name: 'qa', source: 'option' });
    // An empty variable counts as unset.
    process.env['KEYWARD_ENV'] = '';
    expect(store().environment).toBe('staging');
    expect(fallbackWarnings()).toHaveLength(0);
  });

  it('refuses to fall back with requireEnvironment or KEYWARD_REQUIRE_ENV=1: CONFIG_INVALID naming the three ways', () => {
    const refused = thrown(() => store({ requireEnvironment: true }));
    expect(refused.code).toBe('CONFIG_INVALID');
    for (const way of ['`environment`', 'KEYWARD_ENV', 'NODE_ENV']) expect(refused.message).toContain(way);

    for (const value of ['1', 'true']) {
      process.env['KEYWARD_REQUIRE_ENV'] = value;
      expect(thrown(() => store()).code).toBe('CONFIG_INVALID');
      // Any of the three ways satisfies it.
      expect(store({ environment: 'qa' }).environment).toBe('qa');
      process.env['NODE_ENV'] = 'production';
      expect(store().environment).toBe('production');
      delete process.env['NODE_ENV'];
      process.env['KEYWARD_ENV'] = 'production';
      expect(store().environment).toBe('production');
      delete process.env['KEYWARD_ENV'];
    }
    process.env['KEYWARD_REQUIRE_ENV'] = '0';
    expect(store().environment).toBe('development');
  });
});
