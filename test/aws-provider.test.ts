import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager, type AwsSecretsManagerOptions } from '@keyward/aws';
import { KeywardError, SecretStore, SecretsUnavailableError, type SecretDeclarations, type SecretRotatedEvent } from '@keyward/core';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '@keyward/testing';
import { canary, expectNoCanary, nextEvent } from '@keyward/test-support';

describe('awsSecretsManager against the Secrets Manager emulator', () => {
  let emulator: SecretsManagerEmulator;
  let admin: SecretsManagerClient;
  const open: { close(): Promise<void> }[] = [];
  const clients: SecretsManagerClient[] = [];
  const track = <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };

  /** A client of the test's own, counting the operations it sends. maxAttempts 1: the emulator's planted failures reach the provider. */
  const countingClient = (): { client: SecretsManagerClient; calls: string[]; count(op: string): number } => {
    const client = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
    const calls: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    clients.push(client);
    return { client, calls, count: (op) => calls.filter((c) => c === op).length };
  };

  const createSecret = async (name: string, value: string): Promise<void> => {
    await admin.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  };

  const start = <D extends SecretDeclarations>(app: string, secrets: D, options: AwsSecretsManagerOptions, store: { concurrency?: number } = {}) =>
    track(
      new SecretStore({
        app,
        environment: 'production',
        providers: { production: awsSecretsManager(options) },
        secrets,
        refresh: false,
        bootstrapRetries: 0,
        ...store,
      }),
    ).start();

  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator();
    admin = new SecretsManagerClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
  });
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    admin.destroy();
    await emulator.close();
  });

  it('bootstraps JSON and plain secrets at {app}/{env}/{name} with one BatchGetSecretValue per 20', async () => {
    const password = canary('db-password');
    const apiKey = canary('stripe-key');
    await createSecret('billing/production/database', JSON.stringify({ username: 'billing', password }));
    await createSecret('billing/production/stripe', apiKey);
    await createSecret('billing/production/list', '["not", "an", "object"]');
    const { client, calls, count } = countingClient();
    const store = await start('billing', { database: {}, stripe: {}, list: {} }, { client });
    expect(store.get('database').reveal()).toEqual({ username: 'billing', password });
    expect(store.get('stripe').reveal()).toBe(apiKey);
    expect(store.get('list').reveal()).toBe('["not", "an", "object"]');
    expect(store.get('database').version).toMatch(/^[0-9a-f-]{32,}$/);
    expect(calls).toEqual(['BatchGetSecretValue']);

    // 25 secrets read together: 20 + 5.
    const names = Array.from({ length: 25 }, (_, i) => `s${i}`);
    for (const name of names) await createSecret(`many/production/${name}`, `value-${name}`);
    const many = countingClient();
    const big = await start('many', Object.fromEntries(names.map((n) => [n, {}])), { client: many.client }, { concurrency: 25 });
    expect(big.get('s24').reveal()).toBe('value-s24');
    expect(many.count('BatchGetSecretValue')).toBe(2);
    expect(many.count('GetSecretValue')).toBe(0);
  });

  it('falls back to one GetSecretValue per secret when BatchGetSecretValue is denied, and keeps to it', async () => {
    await createSecret('denied/production/a', JSON.stringify({ password: canary() }));
    await createSecret('denied/production/b', 'plain-b');
    const { client, count } = countingClient();
    emulator.failNext(1, 'AccessDeniedException', 'BatchGetSecretValue');
    const store = await start('denied', { a: {}, b: {} }, { client, cheapRefresh: false });
    expect(store.get('b').reveal()).toBe('plain-b');
    expect(count('BatchGetSecretValue')).toBe(1);
    expect(count('GetSecretValue')).toBe(2);
  });

  it('reads AWSPREVIOUS on request, per secret', async () => {
    await createSecret('stages/production/database', JSON.stringify({ password: 'first' }));
    await admin.send(new PutSecretValueCommand({ SecretId: 'stages/production/database', SecretString: JSON.stringify({ password: 'second' }) }));
    await createSecret('stages/production/other', 'only-one');
    const { client, count } = countingClient();
    const store = await start('stages', { database: {}, other: {} }, {
      client,
      versionStage: (ref) => (ref.name === 'database' ? 'AWSPREVIOUS' : 'AWSCURRENT'),
    });
    expect(store.get('database').reveal()).toEqual({ password: 'first' });
    expect(store.get('other').reveal()).toBe('only-one');
    // The stage other than AWSCURRENT is not batched.
    expect(count('GetSecretValue')).toBe(1);
    expect(count('BatchGetSecretValue')).toBe(1);
  });

  it('refreshes with DescribeSecret only while nothing changed, and emits rotated for a new version', async () => {
    const password = canary('db-password');
    const newPassword = canary('db-password-2');
    await createSecret('shop/production/database', JSON.stringify({ username: 'shop', password }));
    const { client, calls, count } = countingClient();
    const store = await start('shop', { database: {} }, { client });
    const v1 = store.get('database').version;

    calls.length = 0;
    await store.refresh();
    expect(calls).toEqual(['DescribeSecret']);
    expect(store.get('database').version).toBe(v1);

    await admin.send(new PutSecretValueCommand({ SecretId: 'shop/production/database', SecretString: JSON.stringify({ username: 'shop', password: newPassword }) }));
    const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated');
    calls.length = 0;
    await store.refresh('database');
    const event = await rotated;
    expect(event.previous.version).toBe(v1);
    expect(event.current.version).not.toBe(v1);
    expect(store.get('database').reveal()).toEqual({ username: 'shop', password: newPassword });
    expect([count('DescribeSecret'), count('GetSecretValue')]).toEqual([1, 1]);
    expectNoCanary({ event: inspect(event, { depth: 6 }), json: JSON.stringify(event), health: JSON.stringify(store.health()) }, password, newPassword);
  });

  it('fails start-up with one error listing a denied, a missing and a scheduled-for-deletion secret', async () => {
    const value = canary('secret');
    await createSecret('gone/production/denied', value);
    await createSecret('gone/production/deleted', value);
    await admin.send(new DeleteSecretCommand({ SecretId: 'gone/production/deleted', RecoveryWindowInDays: 7 }));
    await createSecret('gone/production/present', 'here');
    const { client } = countingClient();
    // concurrency 1 reads in declaration order: the planted denial answers `denied`.
    emulator.failNext(1, 'AccessDeniedException', 'GetSecretValue');
    const failure = await start('gone', { denied: {}, missing: {}, deleted: {}, present: {} }, { client, batch: false }, { concurrency: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(SecretsUnavailableError);
    const problems = (failure as SecretsUnavailableError).problems;
    expect(problems.map((p) => [p.secret, p.code])).toEqual([
      ['denied', 'PERMISSION_DENIED'],
      ['missing', 'SECRET_NOT_FOUND'],
      ['deleted', 'SECRET_NOT_FOUND'],
    ]);
    expect(problems[1]?.location).toBe('aws secretsmanager gone/production/missing');
    expect(problems[2]?.message).toMatch(/deletion/);
    expectNoCanary({ inspect: inspect(failure, { depth: 8 }), json: JSON.stringify(failure) }, value);
  });

  it('maps per-secret BatchGetSecretValue errors to each caller', async () => {
    await createSecret('partial/production/present', 'here');
    const { client, count } = countingClient();
    const failure = await start('partial', { present: {}, missing: {} }, { client }).then(
      () => undefined,
      (err: unknown) => err as SecretsUnavailableError,
    );
    expect(failure?.problems.map((p) => [p.secret, p.code])).toEqual([['missing', 'SECRET_NOT_FOUND']]);
    expect(count('BatchGetSecretValue')).toBe(1);
  });

  it('serves the last value through ThrottlingException, reports degraded, and recovers', async () => {
    const password = canary('db-password');
    await createSecret('outage/production/database', JSON.stringify({ password }));
    const { client } = countingClient();
    const store = await start('outage', { database: {} }, { client });
    emulator.failNext(1, 'ThrottlingException', 'DescribeSecret');
    const failed = nextEvent<{ error: KeywardError }>(store, 'refreshFailed');
    const refreshError = await store.refresh('database').then(
      () => undefined,
      (err: unknown) => err as KeywardError,
    );
    expect(refreshError?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refreshError?.retryable).toBe(true);
    expect(inspect(refreshError?.cause)).toContain('ThrottlingException');
    expect(store.get('database').reveal()).toEqual({ password });
    expect(store.health().status).toBe('degraded');
    const event = await failed;

    const recovered = nextEvent(store, 'recovered');
    await store.refresh('database');
    await recovered;
    expect(store.health().status).toBe('ok');
    expectNoCanary({ event: inspect(event, { depth: 8 }), error: inspect(refreshError, { depth: 8 }), json: JSON.stringify(event) }, password);
  });

  it('maps DecryptionFailure, InvalidParameterException and an unreachable endpoint to codes, keeping only a sanitized cause', async () => {
    await createSecret('codes/production/database', 'value');
    const { client } = countingClient();
    const provider = track({ close: async () => {}, ...awsSecretsManager({ client, batch: false }) });
    const ref = { name: 'database', path: 'codes/production/database', app: 'codes', environment: 'production' };
    const read = () => provider.read(ref, { signal: AbortSignal.timeout(5000) }).then(() => undefined, (err: unknown) => err as KeywardError);
    emulator.failNext(1, 'DecryptionFailure', 'GetSecretValue');
    const decryption = await read();
    emulator.failNext(1, 'InvalidParameterException', 'GetSecretValue');
    const parameter = await read();
    expect([decryption?.code, parameter?.code]).toEqual(['PERMISSION_DENIED', 'CONFIG_INVALID']);
    expect(decryption?.cause).toMatchObject({ name: 'SecretsManagerFailure', errorName: 'DecryptionFailure', httpStatusCode: 400 });
    expect(Object.keys(decryption?.cause as object).sort()).toEqual(['errorName', 'httpStatusCode', 'name']);

    const nowhere = awsSecretsManager({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: emulator.credentials, maxAttempts: 1 });
    const unreachable = await nowhere.read(ref, { signal: AbortSignal.timeout(5000) }).then(() => undefined, (err: unknown) => err as KeywardError);
    await nowhere.close?.();
    expect(unreachable?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(unreachable?.retryable).toBe(true);
  });

  it('reports PROVIDER_TIMEOUT when Secrets Manager answers after readTimeout', async () => {
    await createSecret('slow/production/database', 'slow-value');
    emulator.setLatency(500);
    try {
      const provider = awsSecretsManager({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials });
      const failure = await track(
        new SecretStore({
          app: 'slow',
          environment: 'production',
          providers: { production: provider },
          secrets: { database: {} },
          refresh: false,
          bootstrapRetries: 0,
          readTimeout: '100ms',
        }),
      )
        .start()
        .then(
          () => undefined,
          (err: unknown) => err as SecretsUnavailableError,
        );
      expect(failure?.problems.map((p) => p.code)).toEqual(['PROVIDER_TIMEOUT']);
    } finally {
      emulator.setLatency(0);
    }
  });

  it('serves SecretBinary as bytes, and json: always refuses a plain string with SECRET_INVALID (never quoting it)', async () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await admin.send(new CreateSecretCommand({ Name: 'bin/production/tlsKey', SecretBinary: bytes }));
    const store = await start('bin', { tlsKey: {} }, { client: countingClient().client });
    expect(Uint8Array.from(store.get('tlsKey').reveal() as unknown as Uint8Array)).toEqual(bytes);

    const value = canary('plain');
    await createSecret('strict/production/token', value);
    const failure = await start('strict', { token: {} }, { client: countingClient().client, json: 'always' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SecretsUnavailableError);
    expect((failure as SecretsUnavailableError).problems).toEqual([expect.objectContaining({ secret: 'token', code: 'SECRET_INVALID' })]);
    expectNoCanary({ error: inspect(failure, { depth: 10 }) }, value);
  });

  it('refuses client options given as `client` with CONFIG_INVALID at once, rather than an outage at the first read', () => {
    const options = { client: { region: emulator.region, endpoint: emulator.endpoint } } as unknown as AwsSecretsManagerOptions;
    expect(() => awsSecretsManager(options)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
