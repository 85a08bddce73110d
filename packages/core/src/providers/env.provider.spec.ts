import { describe, expect, it } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { SecretStore } from '../store/index.js';
import { envProvider } from './env.provider.js';
import { toEnvName, toKeyName, valueFromVariables } from './naming.js';
import type { SecretRef } from './secret-provider.js';
import { closeAfterEach } from '@keyward/test-support';

const ref = (name: string, path = `app/test/${name}`): SecretRef => ({ name, path, app: 'app', environment: 'test' });
const signal = new AbortController().signal;

describe('naming', () => {
  it.each([
    ['stripeKey', 'STRIPE_KEY'],
    ['stripe-key', 'STRIPE_KEY'],
    ['database', 'DATABASE'],
    ['databaseUrl', 'DATABASE_URL'],
    ['apiKeyV2', 'API_KEY_V2'],
    ['oauth2Secret', 'OAUTH2_SECRET'],
    ['my.dotted name', 'MY_DOTTED_NAME'],
  ])('maps the declared name %j to the variable %j', (name, env) => {
    expect(toEnvName(name)).toBe(env);
  });

  it('maps a NAME__KEY suffix to a camelCase key', () => {
    expect(toKeyName('USERNAME')).toBe('username');
    expect(toKeyName('CONNECTION_URL')).toBe('connectionUrl');
  });

  it('prefers the whole variable, else gathers NAME__KEY variables, else undefined', () => {
    const vars = { DATABASE: 'postgres://x', DATABASE__USERNAME: 'u', CACHE__HOST: 'h', CACHE__TLS_CA: 'ca', CACHE__: 'ignored', OTHER: undefined };
    expect(valueFromVariables(vars, 'DATABASE')).toBe('postgres://x');
    expect(valueFromVariables(vars, 'CACHE')).toEqual({ host: 'h', tlsCa: 'ca' });
    expect(valueFromVariables(vars, 'OTHER')).toBeUndefined();
    expect(valueFromVariables(vars, 'MISSING')).toBeUndefined();
    expect(valueFromVariables({ EMPTY: '' }, 'EMPTY')).toBe('');
  });
});

describe('envProvider', () => {
  const track = closeAfterEach();

  it('reads stripeKey from STRIPE_KEY', async () => {
    const provider = envProvider({ env: { STRIPE_KEY: 'sk_test_1' } });
    await expect(provider.read(ref('stripeKey'), { signal })).resolves.toEqual({ value: 'sk_test_1' });
    expect(provider.kind).toBe('env');
    expect(provider.locate(ref('stripeKey'))).toBe('env STRIPE_KEY');
  });

  it('gathers DATABASE__USERNAME and DATABASE__PASSWORD into { username, password }', async () => {
    const provider = envProvider({ env: { DATABASE__USERNAME: 'app', DATABASE__PASSWORD: 'pw', DATABASE_URL: 'other' } });
    await expect(provider.read(ref('database'), { signal })).resolves.toEqual({ value: { username: 'app', password: 'pw' } });
  });

  it('uses a custom mapName for reading and for locating', async () => {
    const provider = envProvider({ env: { BILLING_TEST_TOKEN: 't' }, mapName: (r) => `${r.app}_${r.environment}_${r.name}`.toUpperCase() });
    const r = { ...ref('token'), app: 'billing' };
    await expect(provider.read(r, { signal })).resolves.toEqual({ value: 't' });
    expect(provider.locate(r)).toBe('env BILLING_TEST_TOKEN');
  });

  it('says SECRET_NOT_FOUND naming the variable when neither form is set', async () => {
    const provider = envProvider({ env: {} });
    const err = await provider.read(ref('stripeKey'), { signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeywardError);
    expect(err).toMatchObject({ code: 'SECRET_NOT_FOUND' });
    expect((err as KeywardError).message).toContain('STRIPE_KEY');
  });

  it('reads process.env by default, at read time', async () => {
    const name = `keywardSpec${process.pid}`;
    const variable = toEnvName(name);
    const provider = envProvider();
    process.env[variable] = 'from-process';
    try {
      await expect(provider.read(ref(name), { signal })).resolves.toEqual({ value: 'from-process' });
    } finally {
      delete process.env[variable];
    }
  });

  it('serves a store, with a map secret picked by key', async () => {
    const store = new SecretStore({
      app: 'shop',
      environment: 'test',
      providers: { test: envProvider({ env: { STRIPE_KEY: 'sk_1', DATABASE__USERNAME: 'app', DATABASE__PASSWORD: 'pw' } }) },
      secrets: { stripeKey: {}, database: {}, dbPassword: { key: 'password' } },
      refresh: false,
    });
    track(store);
    // dbPassword has its own variables: point it at DATABASE.
    await expect(store.start()).rejects.toMatchObject({ code: 'SECRETS_UNAVAILABLE', problems: [expect.objectContaining({ secret: 'dbPassword', location: 'env DB_PASSWORD' })] });

    const ok = new SecretStore({
      app: 'shop',
      environment: 'test',
      providers: { test: envProvider({ env: { STRIPE_KEY: 'sk_1', DATABASE__USERNAME: 'app', DATABASE__PASSWORD: 'pw' }, mapName: (r) => (r.name === 'dbPassword' ? 'DATABASE' : toEnvName(r.name)) }) },
      secrets: { stripeKey: {}, database: {}, dbPassword: { key: 'password' } },
      refresh: false,
    });
    track(ok);
    await ok.start();
    expect(ok.get('stripeKey').reveal()).toBe('sk_1');
    expect(ok.get('database').reveal()).toEqual({ username: 'app', password: 'pw' });
    expect(ok.get('dbPassword').reveal()).toBe('pw');
  });
});
