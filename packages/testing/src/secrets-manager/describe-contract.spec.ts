import { describe, expect, it } from '@jest/globals';
import type { SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { token, uniqueName, useEmulator } from './spec-support.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotate';

/**
 * The fields AWS sends, checked on the wire (the SDK cannot tell an absent field from one it
 * dropped). "Secrets Manager only returns fields that have a value in the response": the shapes
 * below follow the API reference's examples (botocore examples-1.json) and a real reply quoted in
 * aws/aws-sdk-js#3307, plus CreatedDate, which AWS added to both operations after those were written.
 */
describe('DescribeSecret and ListSecrets send only the fields AWS sends', () => {
  let emulator: SecretsManagerEmulator;
  useEmulator((e) => {
    emulator = e;
  });

  const call = async (operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const response = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `secretsmanager.${operation}` },
      body: JSON.stringify(body),
    });
    const reply = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(`${operation}: ${JSON.stringify(reply)}`);
    return reply;
  };
  const fieldsOf = (reply: Record<string, unknown>) => Object.keys(reply).sort();
  /** Registers a rotation function like AWS's templates: a new value under AWSPENDING, then AWSCURRENT moved to it. */
  const completeRotations = () =>
    emulator.setRotationHandler(async ({ SecretId, ClientRequestToken, Step }) => {
      if (Step === 'createSecret') await call('PutSecretValue', { SecretId, ClientRequestToken, SecretString: ClientRequestToken, VersionStages: ['AWSPENDING'] });
      if (Step !== 'finishSecret') return;
      const stages = (await call('DescribeSecret', { SecretId })).VersionIdsToStages as Record<string, string[]>;
      const current = Object.keys(stages).find((id) => stages[id]!.includes('AWSCURRENT'));
      await call('UpdateSecretVersionStage', { SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: ClientRequestToken, RemoveFromVersionId: current });
    });

  it('a secret never set up for rotation has no RotationEnabled (nor any other rotation field), as in aws-sdk-js#3307', async () => {
    const name = uniqueName('plain');
    await call('CreateSecret', { Name: name, SecretString: 'v1' });
    const described = await call('DescribeSecret', { SecretId: name });
    expect(fieldsOf(described)).toEqual(['ARN', 'CreatedDate', 'LastChangedDate', 'Name', 'VersionIdsToStages']);
  });

  it('a rotated secret with every optional field set has the fields of the documented DescribeSecret example', async () => {
    const name = uniqueName('rotated');
    await call('CreateSecret', {
      Name: name,
      SecretString: 'v1',
      Description: 'My test database secret',
      KmsKeyId: 'arn:aws:kms:us-west-2:123456789012:key/EXAMPLE1-90ab-cdef-fedc-ba987KMSKEY1',
      Tags: [{ Key: 'FirstTag', Value: 'SomeValue' }],
    });
    completeRotations();
    await call('RotateSecret', { SecretId: name, RotationLambdaARN: LAMBDA, RotationRules: { AutomaticallyAfterDays: 14 }, ClientRequestToken: token(1) });
    await call('GetSecretValue', { SecretId: name });
    const described = await call('DescribeSecret', { SecretId: name });
    expect(fieldsOf(described)).toEqual(
      [
        'ARN',
        'Name',
        'Description',
        'KmsKeyId',
        'RotationEnabled',
        'RotationLambdaARN',
        'RotationRules',
        'LastRotatedDate',
        'LastChangedDate',
        'LastAccessedDate',
        'NextRotationDate',
        'Tags',
        'VersionIdsToStages',
        'CreatedDate',
      ].sort(),
    );
    expect(described).toMatchObject({ RotationEnabled: true, RotationLambdaARN: LAMBDA, RotationRules: { AutomaticallyAfterDays: 14 } });
  });

  it('after CancelRotateSecret: RotationEnabled false, the old function and schedule kept, no rotation dates', async () => {
    const name = uniqueName('cancelled');
    await call('CreateSecret', { Name: name, SecretString: 'v1' });
    completeRotations();
    await call('RotateSecret', { SecretId: name, RotationLambdaARN: LAMBDA, RotationRules: { AutomaticallyAfterDays: 30 }, ClientRequestToken: token(2) });
    expect(fieldsOf(await call('DescribeSecret', { SecretId: name }))).toEqual(expect.arrayContaining(['LastRotatedDate', 'NextRotationDate']));
    await call('CancelRotateSecret', { SecretId: name });
    const described = await call('DescribeSecret', { SecretId: name });
    // "If the secret previously had rotation turned on, but it is now turned off, this field shows the previous
    // rotation schedule"; LastRotatedDate and NextRotationDate: "If ... rotation has been disabled, Secrets Manager returns null".
    expect(fieldsOf(described)).toEqual(
      ['ARN', 'Name', 'RotationEnabled', 'RotationLambdaARN', 'RotationRules', 'LastChangedDate', 'VersionIdsToStages', 'CreatedDate'].sort(),
    );
    expect(described['RotationEnabled']).toBe(false);
  });

  it('a ListSecrets entry of a plain secret has the fields of the documented ListSecrets example', async () => {
    const name = uniqueName('listed');
    await call('CreateSecret', { Name: name, SecretString: 'v1', Description: 'My test database secret' });
    const { SecretList } = (await call('ListSecrets', { Filters: [{ Key: 'name', Values: [name] }] })) as { SecretList: Record<string, unknown>[] };
    expect(SecretList).toHaveLength(1);
    expect(fieldsOf(SecretList[0]!)).toEqual(['ARN', 'CreatedDate', 'Description', 'LastChangedDate', 'Name', 'SecretVersionsToStages']);
  });
});
