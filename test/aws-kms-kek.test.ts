import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  KMSClient,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { awsKmsKek, type AwsKmsKekOptions } from '@keyward/aws';
import { KeywardError, type KekProvider, type WrappedDataKey } from '@keyward/core';
import { startKmsEmulator, type KmsEmulator } from '@keyward/testing';
import { canary, expectNoCanary, rejected } from '@keyward/test-support';
import { describeKekConformance, type KekHarness } from '@keyward/test-support/envelope';

describe('awsKmsKek against the KMS emulator', () => {
  let emulator: KmsEmulator;
  let admin: KMSClient;
  const clients: KMSClient[] = [];
  let aliases = 0;

  /** A client of the test's own, counting the operations it sends and keeping their outputs. maxAttempts 1: planted failures reach the provider. */
  const countingClient = (target: KmsEmulator = emulator): { client: KMSClient; calls: string[]; outputs: unknown[] } => {
    const client = new KMSClient({ region: target.region, endpoint: target.endpoint, credentials: target.credentials, maxAttempts: 1 });
    const calls: string[] = [];
    const outputs: unknown[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName).replace(/Command$/, ''));
        const result = await next(args);
        outputs.push(result.output);
        return result;
      },
      { step: 'initialize', name: 'countCalls' },
    );
    clients.push(client);
    return { client, calls, outputs };
  };

  /** A new key behind a new alias: the alias, the key's ARN and its current key material. */
  const newKey = async (): Promise<{ alias: string; arn: string; id: string }> => {
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    const alias = `alias/envelopes-${++aliases}`;
    await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId }));
    return { alias, arn: KeyMetadata!.Arn!, id: KeyMetadata!.KeyId! };
  };

  const materialOf = async (keyId: string): Promise<string> => (await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId!;

  const kekFor = (keyId: string, options: Partial<AwsKmsKekOptions> = {}): { kek: KekProvider; calls: string[]; outputs: unknown[] } => {
    const { client, calls, outputs } = countingClient();
    return { kek: awsKmsKek({ client, keyId, ...options }), calls, outputs };
  };

  beforeAll(async () => {
    emulator = await startKmsEmulator();
    admin = new KMSClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts: 1 });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    admin.destroy();
    await emulator.close();
  });

  it('makes a data key under the alias, records the key ARN and key material, and unwraps it in its context', async () => {
    const key = await newKey();
    const { kek, calls } = kekFor(key.alias);
    expect(kek).toMatchObject({ provider: 'aws-kms', keyId: key.alias });
    const context = { table: 'notes', id: '42' };
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    expect(plaintext).toHaveLength(32);
    expect(wrapped).toMatchObject({ provider: 'aws-kms', keyId: key.arn, keyVersion: await materialOf(key.id) });
    expect(wrapped.keyVersion).toMatch(/^[a-f0-9]{64}$/);
    // GenerateDataKey's answer named the current material: no DescribeKey needed.
    expect(await kek.currentVersion()).toBe(wrapped.keyVersion);

    const unwrapped = await kek.unwrapDataKey(wrapped, { context: { id: '42', table: 'notes' } });
    expect(unwrapped.equals(plaintext)).toBe(true);
    expect(calls).toEqual(['GenerateDataKey', 'Decrypt']);
    // A second provider for the same alias resolves it once, then decrypts.
    const other = kekFor(key.alias);
    expect((await other.kek.unwrapDataKey(wrapped, { context })).equals(plaintext)).toBe(true);
    await other.kek.unwrapDataKey(wrapped, { context });
    expect(other.calls).toEqual(['DescribeKey', 'Decrypt', 'Decrypt']);
  });

  it('after RotateKeyOnDemand, re-wraps to the new key material with the same data key; the old envelope still unwraps', async () => {
    const key = await newKey();
    const { kek } = kekFor(key.arn, { currentVersionMaxAge: 0 });
    const context = { table: 'notes', id: '7' };
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    const first = wrapped.keyVersion;
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const second = await kek.currentVersion();
    expect(second).not.toBe(first);
    expect(second).toBe(await materialOf(key.id));

    const rewrapped = await kek.rewrapDataKey(wrapped, { context });
    expect(rewrapped).toMatchObject({ provider: 'aws-kms', keyId: key.arn, keyVersion: second });
    expect(Buffer.from(rewrapped.wrapped).equals(Buffer.from(wrapped.wrapped))).toBe(false);
    expect((await kek.unwrapDataKey(rewrapped, { context })).equals(plaintext)).toBe(true);
    expect((await kek.unwrapDataKey(wrapped, { context })).equals(plaintext)).toBe(true);
    expect((await kek.generateDataKey({ context })).wrapped.keyVersion).toBe(second);
  });

  it('trusts the current version for currentVersionMaxAge, except that a ReEncrypt answer moves it at once and fresh asks KMS', async () => {
    const key = await newKey();
    const context = { table: 'notes', id: '8' };
    const cached = kekFor(key.alias, { currentVersionMaxAge: '1h' });
    const { wrapped } = await cached.kek.generateDataKey({ context });
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    expect(await cached.kek.currentVersion()).toBe(wrapped.keyVersion);
    const rewrapped = await cached.kek.rewrapDataKey(wrapped, { context });
    expect(rewrapped.keyVersion).toBe(await materialOf(key.id));
    expect(await cached.kek.currentVersion()).toBe(rewrapped.keyVersion);
    expect(cached.calls).toEqual(['GenerateDataKey', 'ReEncrypt']);
    // `fresh` (what rewrapAll asks first) reads it from KMS whatever was seen.
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const fresh = cached.kek.currentVersion as (options: { fresh?: boolean }) => Promise<string>;
    expect(await fresh({ fresh: true })).toBe(await materialOf(key.id));
    expect(cached.calls).toEqual(['GenerateDataKey', 'ReEncrypt', 'DescribeKey']);

    // A provider that has seen no answer asks DescribeKey, once for concurrent callers.
    const unseen = kekFor(key.alias);
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const [a, b] = await Promise.all([unseen.kek.currentVersion(), unseen.kek.currentVersion()]);
    expect([a, b]).toEqual([await materialOf(key.id), await materialOf(key.id)]);
    expect(unseen.calls).toEqual(['DescribeKey']);
  });

  it('answers KEK_DISABLED for a disabled key and a key pending deletion, and works again once it is back', async () => {
    const key = await newKey();
    const { kek } = kekFor(key.alias);
    const context = { row: '1' };
    const { plaintext, wrapped } = await kek.generateDataKey({ context });

    await admin.send(new DisableKeyCommand({ KeyId: key.id }));
    for (const call of [() => kek.unwrapDataKey(wrapped, { context }), () => kek.generateDataKey({ context }), () => kek.rewrapDataKey(wrapped, { context })]) {
      const err = await rejected(call());
      expect(err).toMatchObject({ code: 'KEK_DISABLED', retryable: false });
      expect(err.message).toContain(`${key.arn} is disabled.`);
    }
    await admin.send(new EnableKeyCommand({ KeyId: key.id }));
    await admin.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    const pending = await rejected(kek.unwrapDataKey(wrapped, { context }));
    expect(pending).toMatchObject({ code: 'KEK_DISABLED', retryable: false });
    expect(pending.message).toContain('pending deletion');
    expect(inspect(pending.cause)).toContain('KMSInvalidStateException');

    await admin.send(new CancelKeyDeletionCommand({ KeyId: key.id }));
    await admin.send(new EnableKeyCommand({ KeyId: key.id }));
    expect((await kek.unwrapDataKey(wrapped, { context })).equals(plaintext)).toBe(true);
  });

  it('answers DECRYPT_FAILED, with one message, for a wrong context, a changed byte, another key or another provider', async () => {
    const key = await newKey();
    const { kek, calls } = kekFor(key.alias);
    const context = { table: 'notes', id: '1' };
    const { wrapped } = await kek.generateDataKey({ context });
    const flipped = Buffer.from(wrapped.wrapped);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x01;
    const otherKey = await newKey();
    const { wrapped: foreign } = await kekFor(otherKey.alias).kek.generateDataKey({ context });

    const refusals: [string, () => Promise<unknown>][] = [
      ['wrong context', () => kek.unwrapDataKey(wrapped, { context: { table: 'notes', id: '2' } })],
      ['no context', () => kek.unwrapDataKey(wrapped, { context: {} })],
      ['changed byte', () => kek.unwrapDataKey({ ...wrapped, wrapped: flipped }, { context })],
      ['wrong context on re-wrap', () => kek.rewrapDataKey(wrapped, { context: { table: 'other', id: '1' } })],
      ['another key', () => kek.unwrapDataKey(foreign, { context })],
      ['another key, named as ours', () => kek.unwrapDataKey({ ...foreign, keyId: key.arn }, { context })],
      ['another provider', () => kek.unwrapDataKey({ ...wrapped, provider: 'vault-transit' }, { context })],
    ];
    for (const [label, refusal] of refusals) {
      const err = await rejected(refusal());
      expect({ label, code: err.code, message: err.message, retryable: err.retryable }).toEqual({
        label,
        code: 'DECRYPT_FAILED',
        message: 'the data key could not be unwrapped',
        retryable: false,
      });
    }
    // The foreign and other-provider envelopes were refused without asking KMS.
    expect(calls.filter((c) => c === 'Decrypt')).toHaveLength(4);
  });

  it('answers KEK_UNAVAILABLE (retryable) for KMS faults, throttling, a closed endpoint and an aborted call', async () => {
    const key = await newKey();
    const { kek } = kekFor(key.alias);
    const context = { row: '9' };
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    for (const [exception, operation] of [
      ['KMSInternalException', 'Decrypt'],
      ['DependencyTimeoutException', 'GenerateDataKey'],
      ['ThrottlingException', 'ReEncrypt'],
      ['LimitExceededException', 'Decrypt'],
    ] as const) {
      emulator.failNext(1, exception, operation);
      const call = operation === 'Decrypt' ? kek.unwrapDataKey(wrapped, { context }) : operation === 'ReEncrypt' ? kek.rewrapDataKey(wrapped, { context }) : kek.generateDataKey({ context });
      const err = await rejected(call);
      expect({ exception, code: err.code, retryable: err.retryable }).toEqual({ exception, code: 'KEK_UNAVAILABLE', retryable: true });
      expect(inspect(err.cause)).toContain(exception);
    }
    expect((await kek.unwrapDataKey(wrapped, { context })).equals(plaintext)).toBe(true);

    emulator.setLatency(1_000);
    try {
      const timedOut = await rejected(kek.unwrapDataKey(wrapped, { context, signal: AbortSignal.timeout(50) }));
      expect(timedOut).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: true });
      const reason = new KeywardError('KEK_UNAVAILABLE', 'envelope timeout of 50 ms');
      const controller = new AbortController();
      const pending = kek.generateDataKey({ context, signal: controller.signal });
      controller.abort(reason);
      expect(await rejected(pending)).toBe(reason);
    } finally {
      emulator.setLatency(0);
    }

    const closing = await startKmsEmulator();
    const { client } = countingClient(closing);
    const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
    const gone = awsKmsKek({ client, keyId: KeyMetadata!.Arn!, currentVersionMaxAge: 0 });
    const kept = await gone.generateDataKey({ context });
    await closing.close();
    for (const call of [() => gone.unwrapDataKey(kept.wrapped, { context }), () => gone.generateDataKey({ context }), () => gone.currentVersion()]) {
      expect(await rejected(call())).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: true });
    }
  });

  it('answers PERMISSION_DENIED for AccessDeniedException and CONFIG_INVALID for a key that does not exist', async () => {
    const key = await newKey();
    const { kek } = kekFor(key.alias);
    emulator.failNext(1, 'AccessDeniedException', 'GenerateDataKey');
    const denied = await rejected(kek.generateDataKey({ context: {} }));
    expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', retryable: false });
    expect(denied.message).toContain('kms:GenerateDataKey');
    const missing = kekFor('alias/never-created').kek;
    for (const call of [() => missing.generateDataKey({ context: {} }), () => missing.currentVersion()]) {
      const err = await rejected(call());
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
      expect(err.message).toContain('alias/never-created is not found');
    }
    expect(() => awsKmsKek({ client: admin, keyId: '' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('never lets a plaintext reach an error, and zeroes the SDK copy of each data key', async () => {
    const key = await newKey();
    const { kek, calls, outputs } = kekFor(key.alias);
    const context = { table: 'notes', id: '3' };
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    const sdkPlaintext = (outputs[calls.indexOf('GenerateDataKey')] as { Plaintext: Uint8Array }).Plaintext;
    expect(sdkPlaintext).toHaveLength(32);
    expect(sdkPlaintext.every((b) => b === 0)).toBe(true);
    expect(plaintext.every((b) => b === 0)).toBe(false);
    await kek.unwrapDataKey(wrapped, { context });
    const decrypted = (outputs[calls.indexOf('Decrypt')] as { Plaintext: Uint8Array }).Plaintext;
    expect(decrypted).toHaveLength(32);
    expect(decrypted.every((b) => b === 0)).toBe(true);

    // A ciphertext of this key and context that is not a data key: KMS decrypts it, the provider refuses it.
    const secret = canary('row-secret');
    const { CiphertextBlob } = await admin.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from(secret), EncryptionContext: context }));
    const impostor: WrappedDataKey = { ...wrapped, wrapped: CiphertextBlob! };
    const errors = [
      await rejected(kek.unwrapDataKey(impostor, { context })),
      await rejected(kek.unwrapDataKey(wrapped, { context: { ...context, id: secret } })),
      await rejected(kek.rewrapDataKey(impostor, { context: { secret } })),
    ];
    emulator.failNext(1, 'KMSInternalException', 'Decrypt');
    errors.push(await rejected(kek.unwrapDataKey(impostor, { context })));
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED', 'DECRYPT_FAILED', 'DECRYPT_FAILED', 'KEK_UNAVAILABLE']);
    const dataKey = [plaintext.toString('hex'), plaintext.toString('base64')];
    for (const [i, err] of errors.entries()) {
      const texts = { message: err.message, stack: err.stack ?? '', json: JSON.stringify(err), inspect: inspect(err, { depth: 8 }), cause: inspect(err.cause, { depth: 8 }) };
      expectNoCanary(Object.fromEntries(Object.entries(texts).map(([where, text]) => [`error ${i} ${where}`, text])), secret, ...dataKey);
    }
  });
});

// The shared envelope suite, driven through KMS's API as an operator would: RotateKeyOnDemand,
// DisableKey (KMS cannot retire old key material alone), KMSInternalException, an outage.
const harnessed: { emulator: KmsEmulator; clients: KMSClient[] }[] = [];

async function kmsHarness(): Promise<KekHarness> {
  const emulator = await startKmsEmulator();
  const client = (maxAttempts: number) => new KMSClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: emulator.credentials, maxAttempts });
  const admin = client(3);
  // One attempt per call: the envelope's own retries meet the planted failures.
  const kms = client(1);
  harnessed.push({ emulator, clients: [admin, kms] });
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Description: 'envelope conformance' }));
  await admin.send(new CreateAliasCommand({ AliasName: 'alias/conformance', TargetKeyId: KeyMetadata!.KeyId }));
  const keyId = KeyMetadata!.KeyId!;
  return {
    // The default 5 s trust in the current version: rewrap and rewrapAll read it fresh after a rotation.
    kek: awsKmsKek({ client: kms, keyId: 'alias/conformance' }),
    rotate: async () => void (await admin.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))),
    retireOldVersions: async () => void (await admin.send(new DisableKeyCommand({ KeyId: keyId }))),
    restoreVersions: async () => void (await admin.send(new EnableKeyCommand({ KeyId: keyId }))),
    retiringDisablesKey: true,
    failNext: (count) => emulator.failNext(count, 'KMSInternalException'),
    outage: () => emulator.halt(),
    recover: () => emulator.resume(),
    unknownVersion: '0'.repeat(64),
  };
}

async function closeHarnessed(): Promise<void> {
  for (const { emulator, clients } of harnessed.splice(0)) {
    for (const client of clients) client.destroy();
    await emulator.close();
  }
}

// The 10,000-row PostgreSQL proof runs on the local KEK and on transit (min_decryption_version);
// on KMS it costs three minutes of SDK calls on a busy 2-core machine, and `pnpm bench envelope`
// re-wraps 10,000 envelopes against this emulator with none failing.
describeKekConformance('awsKmsKek', kmsHarness, closeHarnessed);
