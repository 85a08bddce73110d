import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardError } from '../errors/index.js';
import { canary, closeAfterEach, nextEvent } from '@keyward/test-support';
import { SecretStore, type SecretRotatedEvent } from '../store/index.js';
import { dotenvProvider } from './dotenv.provider.js';
import type { SecretRef } from './secret-provider.js';

const ref = (name: string): SecretRef => ({ name, path: `app/development/${name}`, app: 'app', environment: 'development' });
const signal = new AbortController().signal;

describe('dotenvProvider', () => {
  let dir: string;
  let file: string;
  const track = closeAfterEach();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-dotenv-'));
    file = join(dir, '.env');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function storeIn(environment: string, options: Parameters<typeof dotenvProvider>[0] = {}) {
    const store = new SecretStore({
      app: 'app',
      environment,
      providers: { [environment]: dotenvProvider({ path: file, ...options }) },
      secrets: { stripeKey: {}, database: {} },
      refresh: false,
    });
    track(store);
    return store;
  }

  it('reads a .env file: NAME as a string, NAME__KEY as a map, with quotes and comments', async () => {
    await writeFile(file, ['# local only', 'STRIPE_KEY="sk_test_123"', 'DATABASE__USERNAME=app', "DATABASE__PASSWORD='p w#d'", ''].join('\n'));
    const store = await storeIn('development').start();
    expect(store.get('stripeKey').reveal()).toBe('sk_test_123');
    expect(store.get('database').reveal()).toEqual({ username: 'app', password: 'p w#d' });
  });

  it('names the file and the variable when one is missing', async () => {
    await writeFile(file, 'DATABASE=postgres://local\n');
    const provider = dotenvProvider({ path: file });
    const err = (await provider.read(ref('stripeKey'), { signal }).catch((e: unknown) => e)) as KeywardError;
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toContain('STRIPE_KEY');
    expect(err.message).toContain(file);
    expect(provider.locate(ref('stripeKey'))).toBe(`${file} STRIPE_KEY`);
  });

  it('says SECRET_NOT_FOUND when the file itself is missing', async () => {
    const provider = dotenvProvider({ path: join(dir, 'nope.env') });
    await expect(provider.read(ref('stripeKey'), { signal })).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('uses a custom mapName', async () => {
    await writeFile(file, 'PAYMENTS_API=abc\n');
    const provider = dotenvProvider({ path: file, mapName: () => 'PAYMENTS_API' });
    await expect(provider.read(ref('stripeKey'), { signal })).resolves.toEqual({ value: 'abc' });
  });

  it('refuses to start in production with PROVIDER_REFUSED, and the store stays closed', async () => {
    await writeFile(file, 'STRIPE_KEY=x\nDATABASE=y\n');
    const store = storeIn('production');
    const err = (await store.start().catch((e: unknown) => e)) as KeywardError;
    expect(err).toBeInstanceOf(KeywardError);
    expect(err.code).toBe('PROVIDER_REFUSED');
    expect(err.message).toContain('production');
    expect(store.health().status).toBe('down');
    expect(() => store.get('stripeKey')).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
  });

  it('runs in production only when allowInProduction is set', async () => {
    await writeFile(file, 'STRIPE_KEY=x\nDATABASE=y\n');
    const store = await storeIn('production', { allowInProduction: true }).start();
    expect(store.get('stripeKey').reveal()).toBe('x');
  });

  it("refuses 'staging' by default and accepts it when listed in allowedEnvironments", async () => {
    await writeFile(file, 'STRIPE_KEY=x\nDATABASE=y\n');
    await expect(storeIn('staging').start()).rejects.toMatchObject({ code: 'PROVIDER_REFUSED' });
    // allowInProduction is about production only.
    await expect(storeIn('staging', { allowInProduction: true }).start()).rejects.toMatchObject({ code: 'PROVIDER_REFUSED' });
    const store = await storeIn('staging', { allowedEnvironments: ['staging'] }).start();
    expect(store.get('database').reveal()).toBe('y');
  });

  it('notices an edit of the file and emits rotated with the new value', async () => {
    const before = canary();
    const after = canary();
    await writeFile(file, `STRIPE_KEY=${before}\nDATABASE=db\n`);
    const store = await storeIn('development').start();
    expect(store.get('stripeKey').reveal()).toBe(before);

    const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated', 2000, (e) => e.name === 'stripeKey');
    await writeFile(file, `STRIPE_KEY=${after}\nDATABASE=db\n`);
    const event = await rotated;
    expect(event.reason).toBe('watch');
    expect(event.previous.reveal()).toBe(before);
    expect(event.current.reveal()).toBe(after);
    expect(event.previous.version).not.toBe(event.current.version);
    expect(store.get('stripeKey').reveal()).toBe(after);
    // Same value, same version: DATABASE did not change.
    expect(store.get('database').version).toBe('v1');
  });

  it('does not watch when watch is false', () => {
    expect(dotenvProvider({ path: file, watch: false }).watch).toBeUndefined();
    expect(typeof dotenvProvider({ path: file }).watch).toBe('function');
  });
  it('refuses a .env that is a FIFO at once (SECRET_INVALID) instead of blocking on it', async () => {
    await promisify(execFile)('mkfifo', [file]);
    const err = await dotenvProvider({ path: file }).read(ref('stripeKey'), { signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeywardError);
    expect(err).toMatchObject({ code: 'SECRET_INVALID' });
    expect((err as Error).message).toContain('not a regular file');
  });

  it('refuses a .env over maxFileBytes with SECRET_INVALID and nothing of its content', async () => {
    const value = canary('dotenv-big');
    await writeFile(file, `STRIPE_KEY=${value}\n${'# padding\n'.repeat(200)}`);
    const err = await dotenvProvider({ path: file, maxFileBytes: 1024 }).read(ref('stripeKey'), { signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'SECRET_INVALID' });
    expect((err as Error).message).toContain('1024-byte limit');
    expect((err as Error).message).not.toContain(value);
    await expect(dotenvProvider({ path: file, maxFileBytes: 4096 }).read(ref('stripeKey'), { signal })).resolves.toEqual({ value });
  });
});
