import { describe, expect, it } from '@jest/globals';
import type { KMSClient } from '@aws-sdk/client-kms';
import { KeywardError, type KeywardErrorCode, type WrappedDataKey } from '@keyward/core';
import { awsKmsKek } from './kms-kek.js';

const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MATERIAL = '0b7fd7ddbac6eef27907413567cad8c810e2883dc8a7534067a82ee1142fc1e6';
const WRAPPED: WrappedDataKey = { provider: 'aws-kms', keyId: ARN, keyVersion: MATERIAL, wrapped: Uint8Array.from([1, 2, 3]) };

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
  readonly abortSignal: AbortSignal | undefined;
}

/** A KMSClient stand-in: records what is sent and answers with `answer`'s result or error. */
function stubClient(answer: (command: string, input: Record<string, unknown>) => unknown): { client: KMSClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push({ command: name, input: command.input, abortSignal: options?.abortSignal });
      const result = answer(name, command.input);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as KMSClient;
  return { client, sent };
}

/** An error shaped as the SDK throws them: a name, AWS's message and the response's status. */
const sdkError = (name: string, status: number | undefined, message = `${name} said so`): Error =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, $response: { body: 'the raw response' } });

async function rejected(promise: Promise<unknown>): Promise<KeywardError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KeywardError) return err;
    throw err;
  }
  throw new Error('expected a KeywardError');
}

describe('awsKmsKek (with a stub client)', () => {
  it('maps every KMS exception to the code the envelope acts on', async () => {
    const table: [string, number | undefined, KeywardErrorCode, boolean][] = [
      ['InvalidCiphertextException', 400, 'DECRYPT_FAILED', false],
      ['IncorrectKeyException', 400, 'DECRYPT_FAILED', false],
      ['DisabledException', 400, 'KEK_DISABLED', false],
      ['KMSInvalidStateException', 400, 'KEK_DISABLED', false],
      ['NotFoundException', 400, 'CONFIG_INVALID', false],
      ['InvalidKeyUsageException', 400, 'CONFIG_INVALID', false],
      ['AccessDeniedException', 400, 'PERMISSION_DENIED', false],
      ['UnrecognizedClientException', 400, 'PERMISSION_DENIED', false],
      ['KMSInternalException', 500, 'KEK_UNAVAILABLE', true],
      ['DependencyTimeoutException', 500, 'KEK_UNAVAILABLE', true],
      ['KeyUnavailableException', 500, 'KEK_UNAVAILABLE', true],
      ['ThrottlingException', 400, 'KEK_UNAVAILABLE', true],
      ['LimitExceededException', 400, 'KEK_UNAVAILABLE', true],
      ['TimeoutError', undefined, 'KEK_UNAVAILABLE', true],
      ['SomethingNew', 503, 'KEK_UNAVAILABLE', true],
      ['SomethingNew', 429, 'KEK_UNAVAILABLE', true],
      ['SomethingNew', 403, 'PERMISSION_DENIED', false],
      ['SomethingNew', 400, 'CONFIG_INVALID', false],
    ];
    for (const [name, status, code, retryable] of table) {
      const { client } = stubClient(() => sdkError(name, status));
      const err = await rejected(awsKmsKek({ client, keyId: ARN }).unwrapDataKey(WRAPPED, { context: {} }));
      expect({ name, status, code: err.code, retryable: err.retryable }).toEqual({ name, status, code, retryable });
      // The cause keeps AWS's name, status and message, never the SDK's error with its response.
      expect(err.cause).not.toHaveProperty('$response');
      if (code === 'DECRYPT_FAILED') expect(err.message).toBe('the data key could not be unwrapped');
      else expect(err.message).toContain(name);
    }
    const network = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const { client } = stubClient(() => network);
    const err = await rejected(awsKmsKek({ client, keyId: ARN }).generateDataKey({ context: {} }));
    expect(err).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: true });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('sends the context (none for {}), the envelope key and the signal; re-wraps to the configured key in the same context', async () => {
    const { client, sent } = stubClient((command) => {
      if (command === 'Decrypt') return { KeyId: ARN, KeyMaterialId: MATERIAL, Plaintext: new Uint8Array(32).fill(7) };
      return { CiphertextBlob: Uint8Array.from([9]), KeyId: ARN, DestinationKeyMaterialId: 'f'.repeat(64) };
    });
    const kek = awsKmsKek({ client, keyId: ARN });
    const signal = new AbortController().signal;
    await kek.unwrapDataKey(WRAPPED, { context: { table: 'notes' }, signal });
    await kek.unwrapDataKey(WRAPPED, { context: {} });
    const rewrapped = await kek.rewrapDataKey(WRAPPED, { context: { table: 'notes' }, signal });
    expect(rewrapped).toEqual({ provider: 'aws-kms', keyId: ARN, keyVersion: 'f'.repeat(64), wrapped: Uint8Array.from([9]) });
    expect(sent).toEqual([
      { command: 'Decrypt', input: { CiphertextBlob: WRAPPED.wrapped, KeyId: ARN, EncryptionContext: { table: 'notes' } }, abortSignal: signal },
      { command: 'Decrypt', input: { CiphertextBlob: WRAPPED.wrapped, KeyId: ARN }, abortSignal: undefined },
      {
        command: 'ReEncrypt',
        input: { CiphertextBlob: WRAPPED.wrapped, SourceKeyId: ARN, DestinationKeyId: ARN, SourceEncryptionContext: { table: 'notes' }, DestinationEncryptionContext: { table: 'notes' } },
        abortSignal: signal,
      },
    ]);
  });

  it('refuses what KMS decrypted when it is not this envelope’s data key, and zeroes it', async () => {
    const answers = [
      { KeyId: ARN, KeyMaterialId: MATERIAL, Plaintext: new Uint8Array(16).fill(7) },
      { KeyId: ARN, KeyMaterialId: 'a'.repeat(64), Plaintext: new Uint8Array(32).fill(7) },
    ];
    for (const answer of answers) {
      const { client } = stubClient(() => answer);
      const err = await rejected(awsKmsKek({ client, keyId: ARN }).unwrapDataKey(WRAPPED, { context: {} }));
      expect(err.code).toBe('DECRYPT_FAILED');
      expect(answer.Plaintext.every((b) => b === 0)).toBe(true);
    }
  });

  it('needs key material IDs from KMS, a key and a client', async () => {
    const { client } = stubClient(() => ({ CiphertextBlob: Uint8Array.from([1]), KeyId: ARN, Plaintext: new Uint8Array(32).fill(1) }));
    const err = await rejected(awsKmsKek({ client, keyId: ARN }).generateDataKey({ context: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('KeyMaterialId');
    const describeless = stubClient(() => ({ KeyMetadata: { Arn: ARN } }));
    expect((await rejected(awsKmsKek({ client: describeless.client, keyId: 'alias/x' }).currentVersion())).code).toBe('CONFIG_INVALID');
    for (const options of [{ client, keyId: ' ' }, { client: {} as KMSClient, keyId: ARN }]) {
      let thrown: unknown;
      try {
        awsKmsKek(options);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toMatchObject({ code: 'CONFIG_INVALID' });
    }
  });

  it('shares one DescribeKey among concurrent callers, who each stop waiting on their own signal', async () => {
    let release: (value: unknown) => void = () => undefined;
    const { client, sent } = stubClient(() => new Promise((resolve) => (release = resolve)));
    const kek = awsKmsKek({ client, keyId: 'alias/app' });
    const controller = new AbortController();
    const patient = kek.currentVersion();
    const hasty = kek.currentVersion({ signal: controller.signal });
    controller.abort();
    expect(await rejected(hasty)).toMatchObject({ code: 'KEK_UNAVAILABLE' });
    release({ KeyMetadata: { Arn: ARN, CurrentKeyMaterialId: MATERIAL } });
    expect(await patient).toBe(MATERIAL);
    expect(sent.map((s) => s.command)).toEqual(['DescribeKey']);
  });
});
