import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { execFileSync } from 'node:child_process';
import { runInNewContext } from 'node:vm';
import { SecretsUnavailableError } from './bootstrap-error.js';
import { isKeywardError, KeywardError } from './keyward-error.js';

describe('KeywardError', () => {
  it('is recognised across two copies of the package (an app that loads the ESM and the CommonJS build)', () => {
    // Node makes a module instance per URL, query included: two copies of this file, two classes.
    const copy = new URL('./keyward-error.ts', import.meta.url).href;
    const script = `
      const a = await import(${JSON.stringify(`${copy}?copy=a`)});
      const b = await import(${JSON.stringify(`${copy}?copy=b`)});
      const err = new a.KeywardError('API_KEY_REVOKED', 'revoked');
      console.log(JSON.stringify({
        distinct: a.KeywardError !== b.KeywardError,
        is: b.KeywardError.is(err), isCode: b.KeywardError.is(err, 'API_KEY_REVOKED'), otherCode: b.KeywardError.is(err, 'API_KEY_EXPIRED'),
        fn: b.isKeywardError(err), instance: err instanceof b.KeywardError,
        plain: b.KeywardError.is(Object.assign(new Error('x'), { code: 'API_KEY_REVOKED' })),
      }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ distinct: true, is: true, isCode: true, otherCode: false, fn: true, instance: true, plain: false });
  });

  it('keeps its brand out of sight and subclasses to their own instanceof', () => {
    const err = new SecretsUnavailableError([new KeywardError('SECRET_NOT_FOUND', 'gone', { secret: 'db', location: 'env DB' })]);
    expect(KeywardError.is(err, 'SECRETS_UNAVAILABLE')).toBe(true);
    expect(err instanceof KeywardError).toBe(true);
    expect(err instanceof SecretsUnavailableError).toBe(true);
    expect(new KeywardError('CONFIG_INVALID', 'x') instanceof SecretsUnavailableError).toBe(false);
    expect(Object.getOwnPropertySymbols(err)).toEqual([]);
    expect(inspect(new KeywardError('CONFIG_INVALID', 'x'))).not.toContain('@keyward/core');
    expect(KeywardError.is(null)).toBe(false);
    expect(KeywardError.is('API_KEY_REVOKED')).toBe(false);
  });

  it('names the secret and its location in front of the detail, and keeps both apart', () => {
    const err = new KeywardError('SECRET_NOT_FOUND', 'is not set', { secret: 'stripeKey', location: 'env STRIPE_KEY' });
    expect(err.message).toBe('secret "stripeKey" (env STRIPE_KEY): is not set');
    expect(err.detail).toBe('is not set');
    expect(err).toMatchObject({ code: 'SECRET_NOT_FOUND', secret: 'stripeKey', location: 'env STRIPE_KEY', name: 'KeywardError' });
    expect(err).toBeInstanceOf(Error);
    expect(new KeywardError('CONFIG_INVALID', 'bad').message).toBe('bad');
  });

  it('marks only transient provider failures as retryable unless told otherwise', () => {
    expect(new KeywardError('PROVIDER_UNAVAILABLE', 'x').retryable).toBe(true);
    expect(new KeywardError('PROVIDER_TIMEOUT', 'x').retryable).toBe(true);
    expect(new KeywardError('SECRET_NOT_FOUND', 'x').retryable).toBe(false);
    expect(new KeywardError('PERMISSION_DENIED', 'x').retryable).toBe(false);
    expect(new KeywardError('PERMISSION_DENIED', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('serialises to name, code, message and secret only: no cause, no stack, no location', () => {
    const cause = new Error('socket hang up at 10.0.0.7');
    const err = new KeywardError('PROVIDER_UNAVAILABLE', 'vault is down', { secret: 'db', location: 'kv/db', cause });
    expect(err.cause).toBe(cause);
    expect(err.toJSON()).toEqual({ name: 'KeywardError', code: 'PROVIDER_UNAVAILABLE', message: 'secret "db" (kv/db): vault is down', secret: 'db' });
    const json = JSON.stringify(err);
    expect(json).not.toContain('socket hang up');
    expect(json).not.toContain('stack');
    expect(JSON.parse(json)).not.toHaveProperty('cause');
    expect(new KeywardError('CONFIG_INVALID', 'x').toJSON()).not.toHaveProperty('secret');
  });

  describe('from', () => {
    it('turns an AbortError or a TimeoutError into PROVIDER_TIMEOUT, keeping it as cause', () => {
      const abort = new DOMException('This operation was aborted', 'AbortError');
      const fromAbort = KeywardError.from(abort);
      expect(fromAbort.code).toBe('PROVIDER_TIMEOUT');
      expect(fromAbort.retryable).toBe(true);
      expect(fromAbort.cause).toBe(abort);

      const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      expect(KeywardError.from(timeout, 'PROVIDER_UNAVAILABLE', { secret: 'db' })).toMatchObject({ code: 'PROVIDER_TIMEOUT', secret: 'db', cause: timeout });

      const named = Object.assign(new Error('aborted'), { name: 'AbortError' });
      expect(KeywardError.from(named).code).toBe('PROVIDER_TIMEOUT');
    });

    it('recognises errors from another realm (a vm context, a worker) by name and keeps their message', () => {
      const timeout = runInNewContext(`Object.assign(new Error('deadline'), { name: 'TimeoutError' })`) as unknown;
      expect(KeywardError.from(timeout).code).toBe('PROVIDER_TIMEOUT');
      const failure = runInNewContext(`new Error('connection refused')`) as unknown;
      expect(KeywardError.from(failure)).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', detail: 'connection refused', cause: failure });
    });

    it('turns a foreign error into the fallback code with its message as detail and itself as cause', () => {
      const foreign = new TypeError('fetch failed');
      const err = KeywardError.from(foreign, 'PROVIDER_UNAVAILABLE', { secret: 'db', location: 'kv/app/db' });
      expect(err).toBeInstanceOf(KeywardError);
      expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', detail: 'fetch failed', secret: 'db', location: 'kv/app/db' });
      expect(err.cause).toBe(foreign);
      expect(KeywardError.from('boom').detail).toBe('boom');
      expect(KeywardError.from(new Error('nope'), 'PROVIDER_REFUSED').code).toBe('PROVIDER_REFUSED');
    });

    it('returns a KeywardError that already names its secret as it is', () => {
      const err = new KeywardError('SECRET_INVALID', 'bad', { secret: 'a' });
      expect(KeywardError.from(err, 'PROVIDER_UNAVAILABLE', { secret: 'b' })).toBe(err);
      const anonymous = new KeywardError('SECRET_INVALID', 'bad');
      expect(KeywardError.from(anonymous)).toBe(anonymous);
    });

    it("adds the secret's name and location to a provider's KeywardError, keeping code, retryable and cause", () => {
      const cause = new Error('ENOENT');
      const err = new KeywardError('SECRET_NOT_FOUND', 'missing', { cause, retryable: true });
      const named = KeywardError.from(err, 'PROVIDER_UNAVAILABLE', { secret: 'db', location: '/mnt/db' });
      expect(named).toMatchObject({ code: 'SECRET_NOT_FOUND', detail: 'missing', secret: 'db', location: '/mnt/db', retryable: true });
      expect(named.message).toBe('secret "db" (/mnt/db): missing');
      expect(named.cause).toBe(cause);
    });
  });

  it('isKeywardError checks class and, when asked, the code', () => {
    const err = new KeywardError('STORE_CLOSED', 'closed');
    expect(isKeywardError(err)).toBe(true);
    expect(isKeywardError(err, 'STORE_CLOSED')).toBe(true);
    expect(isKeywardError(err, 'SECRET_STALE')).toBe(false);
    expect(isKeywardError(new Error('x'))).toBe(false);
  });
});

describe('SecretsUnavailableError', () => {
  const problems = [
    new KeywardError('SECRET_NOT_FOUND', 'environment variable STRIPE_KEY is not set', { secret: 'stripeKey', location: 'env STRIPE_KEY' }),
    new KeywardError('SECRET_INVALID', 'does not match its schema: password: Required', { secret: 'database', location: '/mnt/database' }),
  ];
  const err = new SecretsUnavailableError(problems);

  it('lists every problem in its message and in `problems`, by name, location and code', () => {
    expect(err.code).toBe('SECRETS_UNAVAILABLE');
    expect(err.name).toBe('SecretsUnavailableError');
    expect(err).toBeInstanceOf(KeywardError);
    expect(err.message).toBe(
      '2 secrets could not be loaded:\n' +
        '  - stripeKey (env STRIPE_KEY): SECRET_NOT_FOUND: environment variable STRIPE_KEY is not set\n' +
        '  - database (/mnt/database): SECRET_INVALID: does not match its schema: password: Required',
    );
    expect(err.problems).toEqual([
      { secret: 'stripeKey', location: 'env STRIPE_KEY', code: 'SECRET_NOT_FOUND', message: 'environment variable STRIPE_KEY is not set' },
      { secret: 'database', location: '/mnt/database', code: 'SECRET_INVALID', message: 'does not match its schema: password: Required' },
    ]);
    expect(new SecretsUnavailableError([problems[0]!]).message).toMatch(/^1 secret could not be loaded:/);
  });

  it('keeps the original errors as an AggregateError cause, and leaves the cause out of toJSON', () => {
    expect(err.cause).toBeInstanceOf(AggregateError);
    expect((err.cause as AggregateError).errors).toEqual(problems);
    expect(err.toJSON()).toEqual({ name: 'SecretsUnavailableError', code: 'SECRETS_UNAVAILABLE', message: err.message, problems: err.problems });
    expect(inspect(err, { depth: 10 })).toContain('SECRET_INVALID');
  });
});
