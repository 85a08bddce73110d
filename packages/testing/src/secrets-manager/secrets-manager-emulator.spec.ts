import { describe, expect, it } from '@jest/globals';
import { CreateSecretCommand, GetSecretValueCommand, ListSecretsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { clientFor, rejection, uniqueName, useEmulator } from './spec-support.js';

describe('startSecretsManagerEmulator: protocol, fault injection, latency', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  const raw = (target: string | undefined, body: string) =>
    fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', ...(target ? { 'X-Amz-Target': target } : {}) },
      body,
    });

  it('answers the AWS JSON 1.1 protocol with __type error bodies and unsigned requests', async () => {
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await raw('secretsmanager.GetSecretValue', JSON.stringify({ SecretId: 'nope' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await res.json()).toEqual({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    expect(((await (await raw('secretsmanager.Nope', '{}')).json()) as { __type: string }).__type).toBe('UnknownOperationException');
    expect(((await (await raw(undefined, '{}')).json()) as { __type: string }).__type).toBe('UnknownOperationException');
    expect(((await (await raw('secretsmanager.ListSecrets', '{oops')).json()) as { __type: string }).__type).toBe('SerializationException');
  });

  it('accepts requests signed for any region', async () => {
    const name = uniqueName('region');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
    const other = clientFor({ ...emulator, region: 'ap-southeast-2' });
    expect((await other.send(new GetSecretValueCommand({ SecretId: name }))).Name).toBe(name);
    other.destroy();
  });

  it('injects faults for one operation or any, with the status AWS uses', async () => {
    const name = uniqueName('faults');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
    emulator.failNext(2, 'DecryptionFailure', 'GetSecretValue');
    expect((await client.send(new ListSecretsCommand({}))).SecretList).toBeDefined();
    for (let i = 0; i < 2; i += 1) {
      const err = await rejection(client.send(new GetSecretValueCommand({ SecretId: name })));
      expect(err.name).toBe('DecryptionFailure');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    expect((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v');
    emulator.failNext(1, 'InternalServiceError');
    const internal = await rejection(client.send(new ListSecretsCommand({})));
    expect(internal.name).toBe('InternalServiceError');
    expect(internal.$metadata?.httpStatusCode).toBe(500);
    emulator.failNext(1, 'AccessDeniedException');
    expect((await rejection(client.send(new ListSecretsCommand({})))).name).toBe('AccessDeniedException');
  });

  it("lets the SDK's retry strategy recover from injected throttling", async () => {
    const name = uniqueName('throttled');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
    const retrying = clientFor(emulator, 3);
    emulator.failNext(2, 'ThrottlingException', 'GetSecretValue');
    const value = await retrying.send(new GetSecretValueCommand({ SecretId: name }));
    expect(value.SecretString).toBe('v');
    expect(value.$metadata.attempts).toBe(3);
    retrying.destroy();
  });

  it('adds latency to every reply', async () => {
    emulator.setLatency(150);
    const started = Date.now();
    await client.send(new ListSecretsCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    emulator.setLatency(0);
  });

  it('closes idempotently and on a fixed port', async () => {
    const other = await startSecretsManagerEmulator({ latencyMs: 0 });
    const port = Number(new URL(other.endpoint).port);
    await Promise.all([other.close(), other.close()]);
    const fixed = await startSecretsManagerEmulator({ port });
    expect(fixed.endpoint).toBe(`http://127.0.0.1:${port}`);
    await fixed.close();
  });
});
