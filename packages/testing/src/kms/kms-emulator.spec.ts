import { describe, expect, it } from '@jest/globals';
import {
  DecryptCommand,
  DependencyTimeoutException,
  DescribeKeyCommand,
  EncryptCommand,
  KMSInternalException,
  KMSServiceException,
  LimitExceededException,
  ListAliasesCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startKmsEmulator, type KmsEmulator } from './kms-emulator.js';
import { clientFor, createKey, rejection, useEmulator, wire } from './spec-support.js';

describe('startKmsEmulator: protocol, fault injection, latency, close', () => {
  let emulator: KmsEmulator;
  let client: KMSClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  it('answers the AWS JSON 1.1 protocol with __type error bodies and unsigned requests', async () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey' },
      body: JSON.stringify({ KeyId: '00000000-0000-0000-0000-000000000000' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(await res.json()).toEqual({
      __type: 'NotFoundException',
      message: "Key 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000' does not exist",
    });
    expect((await wire(emulator, 'Nope', {})).json.__type).toBe('UnknownOperationException');
    expect((await wire(emulator, 'constructor', {})).json.__type).toBe('UnknownOperationException');
    expect((await wire(emulator, 'ListAliases', '{oops')).json.__type).toBe('SerializationException');
    expect((await wire(emulator, 'DescribeKey', { KeyId: 42 })).json.__type).toBe('SerializationException');
    // KMS says nothing about a ciphertext it rejects.
    expect(await wire(emulator, 'Decrypt', { CiphertextBlob: Buffer.from('not a ciphertext').toString('base64') })).toEqual({
      status: 400,
      json: { __type: 'InvalidCiphertextException' },
    });
  });

  it('accepts requests signed for any region', async () => {
    const key = await createKey(client);
    const other = clientFor({ ...emulator, region: 'ap-southeast-2' });
    expect((await other.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata?.Arn).toBe(key.arn);
    other.destroy();
  });

  it('injects faults for one operation or any, with the status KMS documents and the SDK error class', async () => {
    const key = await createKey(client);
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') }));
    emulator.failNext(2, 'KMSInternalException', 'Decrypt');
    expect((await client.send(new ListAliasesCommand({}))).Truncated).toBe(false);
    for (let i = 0; i < 2; i += 1) {
      const err = await rejection(client.send(new DecryptCommand({ CiphertextBlob })));
      expect(err).toBeInstanceOf(KMSInternalException);
      expect(err.$metadata?.httpStatusCode).toBe(500);
    }
    expect(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('x');

    // ThrottlingException and AccessDeniedException are AWS's common errors, not in KMS's model: the SDK
    // raises them as KMSServiceException with their name.
    const faults: [string, number, new (...args: never[]) => Error][] = [
      ['DependencyTimeoutException', 500, DependencyTimeoutException],
      ['LimitExceededException', 400, LimitExceededException],
      ['ThrottlingException', 400, KMSServiceException],
      ['AccessDeniedException', 400, KMSServiceException],
    ];
    for (const [exception, status, sdkClass] of faults) {
      emulator.failNext(1, exception);
      const err = await rejection(client.send(new DescribeKeyCommand({ KeyId: key.id })));
      expect({ name: err.name, status: err.$metadata?.httpStatusCode }).toEqual({ name: exception, status });
      expect(err).toBeInstanceOf(sdkClass);
    }
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata?.KeyId).toBe(key.id);
  });

  it("lets the SDK's retry strategy recover from injected throttling and internal errors", async () => {
    const key = await createKey(client);
    const retrying = clientFor(emulator, 3);
    emulator.failNext(1, 'ThrottlingException', 'DescribeKey');
    emulator.failNext(1, 'KMSInternalException', 'DescribeKey');
    const described = await retrying.send(new DescribeKeyCommand({ KeyId: key.id }));
    expect(described.KeyMetadata?.KeyId).toBe(key.id);
    expect(described.$metadata.attempts).toBe(3);
    retrying.destroy();
  });

  it('holds every reply back by the latency set, so a caller with a short deadline gives up', async () => {
    const key = await createKey(client);
    emulator.setLatency(1_500);
    const err = await rejection(client.send(new DescribeKeyCommand({ KeyId: key.id }), { abortSignal: AbortSignal.timeout(100) }));
    expect(err.name).toMatch(/AbortError|TimeoutError/);
    emulator.setLatency(0);
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.id }), { abortSignal: AbortSignal.timeout(5_000) })).KeyMetadata?.KeyId).toBe(key.id);
  });

  it('halts (connections refused) and resumes on the same port with the same keys', async () => {
    const other = await startKmsEmulator();
    const otherClient = clientFor(other);
    try {
      const key = await createKey(otherClient);
      const { CiphertextBlob } = await otherClient.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('kept') }));
      await Promise.all([other.halt(), other.halt()]);
      for (let i = 0; i < 2; i += 1) {
        const refused = await rejection(otherClient.send(new DescribeKeyCommand({ KeyId: key.id })));
        expect(refused.$metadata?.httpStatusCode).toBeUndefined();
      }
      await other.resume();
      await other.resume();
      expect(Buffer.from((await otherClient.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('kept');
      await other.halt();
    } finally {
      otherClient.destroy();
      await other.close();
    }
    await expect(other.resume()).rejects.toThrow('closed');
  });

  it('closes idempotently, refuses connections after, and starts on a fixed port', async () => {
    const other = await startKmsEmulator({ region: 'eu-west-1', accountId: '111122223333' });
    const otherClient = clientFor(other);
    const key = await createKey(otherClient);
    expect(key.arn).toMatch(/^arn:aws:kms:eu-west-1:111122223333:key\//);
    const port = Number(new URL(other.endpoint).port);
    await Promise.all([other.close(), other.close()]);
    // The first call may still find the kept-alive socket (torn down: "socket hang up"); the next one is refused.
    const torn = await rejection(otherClient.send(new DescribeKeyCommand({ KeyId: key.id })));
    expect(torn.$metadata?.httpStatusCode).toBeUndefined();
    const refused = await rejection(otherClient.send(new DescribeKeyCommand({ KeyId: key.id })));
    expect(`${(refused as { code?: string }).code ?? ''} ${refused.message}`).toMatch(/ECONNREFUSED/);
    otherClient.destroy();
    const fixed = await startKmsEmulator({ port });
    expect(fixed.endpoint).toBe(`http://127.0.0.1:${port}`);
    await fixed.close();
  });
});
