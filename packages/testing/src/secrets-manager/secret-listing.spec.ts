import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { clientFor, rejection, uniqueName } from './spec-support.js';

describe('secret metadata: DescribeSecret, ListSecrets, DeleteSecret, RestoreSecret', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator({ region: 'eu-west-1', accountId: '111122223333' });
    client = clientFor(emulator);
  });
  afterAll(async () => {
    client?.destroy();
    await emulator?.close();
  });

  it('describes a secret with its dates, tags, versions and the configured region and account', async () => {
    const name = uniqueName();
    const created = await client.send(
      new CreateSecretCommand({ Name: name, SecretString: 'v1', Description: 'db', KmsKeyId: 'alias/app', Tags: [{ Key: 'team', Value: 'core' }] }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:111122223333:secret:/);
    await client.send(new GetSecretValueCommand({ SecretId: name }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({
      ARN: created.ARN,
      Name: name,
      Description: 'db',
      KmsKeyId: 'alias/app',
      Tags: [{ Key: 'team', Value: 'core' }],
      VersionIdsToStages: { [created.VersionId!]: ['AWSCURRENT'] },
    });
    expect(described.CreatedDate).toBeInstanceOf(Date);
    expect(described.LastChangedDate).toBeInstanceOf(Date);
    expect(described.LastAccessedDate!.getUTCHours()).toBe(0);
    expect(described.DeletedDate).toBeUndefined();
    expect(described.RotationEnabled).toBeUndefined(); // never set up for rotation: AWS leaves it out
    expect((await rejection(client.send(new DescribeSecretCommand({ SecretId: 'missing' })))).name).toBe('ResourceNotFoundException');
  });

  it('lists secrets page by page and filters by name prefix, tag and negation', async () => {
    const prefix = `list-${Date.now()}`;
    for (const n of ['a', 'b', 'c']) {
      await client.send(new CreateSecretCommand({ Name: `${prefix}/${n}`, SecretString: n, Tags: [{ Key: 'letter', Value: n }] }));
    }
    const first = await client.send(new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(first.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/a`, `${prefix}/b`]);
    expect(first.SecretList?.[0]?.SecretVersionsToStages).toBeDefined();
    const second = await client.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken, Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(second.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/c`]);
    expect(second.NextToken).toBeUndefined();
    const tagged = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }, { Key: 'tag-value', Values: ['b'] }] }));
    expect(tagged.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/b`]);
    const negated = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }, { Key: 'tag-value', Values: ['!a'] }] }));
    expect(negated.SecretList?.map((s) => s.Name)).toEqual([`${prefix}/b`, `${prefix}/c`]);
    expect((await rejection(client.send(new ListSecretsCommand({ NextToken: '@@bad' })))).name).toBe('InvalidNextTokenException');
    expect((await rejection(client.send(new ListSecretsCommand({ Filters: [{ Key: 'colour' as never, Values: ['x'] }] })))).name).toBe(
      'InvalidParameterException',
    );
  });

  it('schedules deletion within the recovery window, hides the secret from ListSecrets, and restores it', async () => {
    const name = uniqueName('deleted');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: name }));
    const days = (deleted.DeletionDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toEqual(deleted.DeletionDate);
    const visible = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
    expect(visible.SecretList).toEqual([]);
    const planned = await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: [name] }] }));
    expect(planned.SecretList?.map((s) => s.Name)).toEqual([name]);
    expect((await rejection(client.send(new DeleteSecretCommand({ SecretId: name })))).name).toBe('InvalidRequestException');
    expect((await client.send(new RestoreSecretCommand({ SecretId: name }))).Name).toBe(name);
    expect((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('v1');
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate).toBeUndefined();
  });

  it('validates the recovery window and deletes at once without recovery', async () => {
    const name = uniqueName('forced');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    for (const RecoveryWindowInDays of [6, 31]) {
      expect((await rejection(client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays })))).name).toBe('InvalidParameterException');
    }
    const both = await rejection(client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })));
    expect(both.name).toBe('InvalidParameterException');
    await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    expect((await rejection(client.send(new DescribeSecretCommand({ SecretId: name })))).name).toBe('ResourceNotFoundException');
    expect((await rejection(client.send(new RestoreSecretCommand({ SecretId: name })))).name).toBe('ResourceNotFoundException');
    // The name is free again.
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v2' }));
  });
});
