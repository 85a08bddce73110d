import { describe, expect, it } from '@jest/globals';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { rejection, token, uniqueName, useEmulator } from './spec-support.js';

describe('secret values: CreateSecret, GetSecretValue, PutSecretValue, BatchGetSecretValue', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  it('creates a secret with an AWS-shaped ARN whose first version is AWSCURRENT', async () => {
    const name = uniqueName();
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"one"}', ClientRequestToken: token(1) }));
    expect(created.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-[A-Za-z0-9]{6}$`));
    expect(created).toMatchObject({ Name: name, VersionId: token(1) });
    const value = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(value).toMatchObject({ ARN: created.ARN, Name: name, VersionId: token(1), SecretString: '{"password":"one"}', VersionStages: ['AWSCURRENT'] });
    expect(value.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(value.CreatedDate!.getTime() - Date.now())).toBeLessThan(10_000);
  });

  it('finds a secret by name, full ARN and partial ARN, and stores binary values', async () => {
    const name = uniqueName();
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    const { ARN } = await client.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));
    for (const SecretId of [name, ARN!, ARN!.slice(0, -7)]) {
      const value = await client.send(new GetSecretValueCommand({ SecretId }));
      expect(Buffer.from(value.SecretBinary!)).toEqual(Buffer.from(bytes));
      expect(value.SecretString).toBeUndefined();
    }
  });

  it('rejects duplicate names, both value kinds, bad names and reads of what does not exist', async () => {
    const name = uniqueName();
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'a' }));
    const duplicate = await rejection(client.send(new CreateSecretCommand({ Name: name, SecretString: 'b' })));
    expect(duplicate).toMatchObject({ name: 'ResourceExistsException', message: `The operation failed because the secret ${name} already exists.` });
    expect(duplicate.$metadata?.httpStatusCode).toBe(400);
    const both = await rejection(client.send(new CreateSecretCommand({ Name: uniqueName(), SecretString: 'a', SecretBinary: Uint8Array.from([1]) })));
    expect(both.name).toBe('InvalidParameterException');
    expect((await rejection(client.send(new CreateSecretCommand({ Name: 'bad name!', SecretString: 'a' })))).name).toBe('InvalidParameterException');
    const missing = await rejection(client.send(new GetSecretValueCommand({ SecretId: 'never/created' })));
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    const unknownVersion = await rejection(client.send(new GetSecretValueCommand({ SecretId: name, VersionId: token(999) })));
    expect(unknownVersion.name).toBe('ResourceNotFoundException');
    const unknownStage = await rejection(client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })));
    expect(unknownStage.name).toBe('ResourceNotFoundException');
  });

  it('creates a secret without a value, which has no AWSCURRENT until PutSecretValue', async () => {
    const name = uniqueName();
    const created = await client.send(new CreateSecretCommand({ Name: name, Description: 'empty' }));
    expect(created.VersionId).toBeUndefined();
    expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: name })))).name).toBe('ResourceNotFoundException');
    const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v1', VersionStages: ['AWSPENDING'] }));
    // The first version always becomes AWSCURRENT.
    expect(put.VersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  it('PutSecretValue moves AWSCURRENT and AWSPREVIOUS, or only adds AWSPENDING', async () => {
    const name = uniqueName();
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: token(11) }));
    const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token(12) }));
    expect(put).toMatchObject({ Name: name, VersionId: token(12), VersionStages: ['AWSCURRENT'] });
    expect((await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).VersionId).toBe(token(11));
    const pending = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: token(13), VersionStages: ['AWSPENDING'] }));
    expect(pending.VersionStages).toEqual(['AWSPENDING']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v2');
    expect((await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }))).SecretString).toBe('v3');
    expect((await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: token(11) }))).VersionStages).toEqual(['AWSPREVIOUS']);
  });

  it('keeps ClientRequestToken idempotent: same value is ignored, another value is ResourceExistsException', async () => {
    const name = uniqueName();
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: token(21) }));
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token(22) }));
    const again = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token(22) }));
    expect(again).toMatchObject({ VersionId: token(22), VersionStages: ['AWSCURRENT'] });
    expect((await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).VersionId).toBe(token(21));
    const conflict = await rejection(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'other', ClientRequestToken: token(22) })));
    expect(conflict.name).toBe('ResourceExistsException');
    const short = await rejection(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: 'too-short' })));
    expect(short.name).toBe('InvalidParameterException');
    const empty = await rejection(client.send(new PutSecretValueCommand({ SecretId: name })));
    expect(empty.name).toBe('InvalidParameterException');
  });

  it('refuses reads and writes of a secret scheduled for deletion', async () => {
    const name = uniqueName();
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const message = "You can't perform this operation on the secret because it was marked for deletion.";
    expect(await rejection(client.send(new GetSecretValueCommand({ SecretId: name })))).toMatchObject({ name: 'InvalidRequestException', message });
    expect(await rejection(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' })))).toMatchObject({ name: 'InvalidRequestException', message });
    expect((await rejection(client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' })))).name).toBe('InvalidRequestException');
  });

  it('BatchGetSecretValue returns values by id list or filters, and Errors for missing ids', async () => {
    const prefix = `batch-${Date.now()}`;
    await client.send(new CreateSecretCommand({ Name: `${prefix}/a`, SecretString: 'A' }));
    await client.send(new CreateSecretCommand({ Name: `${prefix}/b`, SecretString: 'B' }));
    const byIds = await client.send(new BatchGetSecretValueCommand({ SecretIdList: [`${prefix}/a`, `${prefix}/missing`, `${prefix}/b`] }));
    expect(byIds.SecretValues?.map((v) => [v.Name, v.SecretString])).toEqual([
      [`${prefix}/a`, 'A'],
      [`${prefix}/b`, 'B'],
    ]);
    expect(byIds.Errors).toEqual([
      { SecretId: `${prefix}/missing`, ErrorCode: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." },
    ]);
    const byFilter = await client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(byFilter.SecretValues?.map((v) => v.Name)).toEqual([`${prefix}/a`, `${prefix}/b`]);
    const tooMany = Array.from({ length: 21 }, (_, i) => `${prefix}/${i}`);
    expect((await rejection(client.send(new BatchGetSecretValueCommand({ SecretIdList: tooMany })))).name).toBe('InvalidParameterException');
    expect((await rejection(client.send(new BatchGetSecretValueCommand({})))).name).toBe('InvalidParameterException');
  });
});
