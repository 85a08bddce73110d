import { describe, expect, it } from '@jest/globals';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { RotationEvent } from './operation.js';
import type { SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { rejection, token, uniqueName, useEmulator } from './spec-support.js';

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:rotate';

describe('rotation: RotateSecret, CancelRotateSecret; GetRandomPassword', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  /** A rotation function written like AWS's single-user template, calling back through the SDK. */
  function templateRotation(steps: RotationEvent[], failAt?: RotationEvent['Step']) {
    return async (event: RotationEvent) => {
      steps.push(event);
      if (event.Step === failAt) throw new Error(`${failAt} failed`);
      const { SecretId, ClientRequestToken } = event;
      if (event.Step === 'createSecret') {
        const { RandomPassword } = await client.send(new GetRandomPasswordCommand({ PasswordLength: 20 }));
        await client.send(new PutSecretValueCommand({ SecretId, ClientRequestToken, SecretString: RandomPassword, VersionStages: ['AWSPENDING'] }));
      }
      if (event.Step === 'finishSecret') {
        const current = Object.entries((await client.send(new DescribeSecretCommand({ SecretId }))).VersionIdsToStages ?? {}).find(([, s]) =>
          s.includes('AWSCURRENT'),
        )![0];
        await client.send(
          new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: ClientRequestToken, RemoveFromVersionId: current }),
        );
      }
    };
  }

  it('calls the rotation handler for each step in order, with AWSPENDING on a value-less version first', async () => {
    const name = uniqueName('rotated');
    const { ARN } = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'old', ClientRequestToken: token(1) }));
    const steps: RotationEvent[] = [];
    const handler = templateRotation(steps);
    emulator.setRotationHandler(async (event) => {
      if (event.Step === 'createSecret') {
        const described = await client.send(new DescribeSecretCommand({ SecretId: event.SecretId }));
        expect(described.VersionIdsToStages?.[event.ClientRequestToken]).toEqual(['AWSPENDING']);
        expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: event.SecretId, VersionStage: 'AWSPENDING' })))).name).toBe(
          'ResourceNotFoundException',
        );
      }
      await handler(event);
    });
    const rotated = await client.send(
      new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA, RotationRules: { AutomaticallyAfterDays: 30 }, ClientRequestToken: token(2) }),
    );
    expect(rotated).toMatchObject({ ARN, Name: name, VersionId: token(2) });
    expect(steps.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(steps.every((e) => e.SecretId === ARN && e.ClientRequestToken === token(2))).toBe(true);
    const current = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(current.VersionId).toBe(token(2));
    expect(current.SecretString).toHaveLength(20);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { AutomaticallyAfterDays: 30 },
      VersionIdsToStages: { [token(1)]: ['AWSPREVIOUS'], [token(2)]: ['AWSCURRENT'] },
    });
    expect(described.NextRotationDate!.getTime() - described.LastRotatedDate!.getTime()).toBe(30 * 86_400_000);
  });

  it('stops at a failing step, still answers, and refuses a new rotation while AWSPENDING is left over', async () => {
    const name = uniqueName('failing');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'old', ClientRequestToken: token(1) }));
    const steps: RotationEvent[] = [];
    emulator.setRotationHandler(templateRotation(steps, 'testSecret'));
    const rotated = await client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA, ClientRequestToken: token(3) }));
    expect(rotated.VersionId).toBe(token(3));
    expect(steps.map((e) => e.Step)).toEqual(['createSecret', 'setSecret', 'testSecret']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe('old');
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages?.[token(3)]).toEqual(['AWSPENDING']);
    const again = await rejection(client.send(new RotateSecretCommand({ SecretId: name, ClientRequestToken: token(4) })));
    expect(again.name).toBe('InvalidRequestException');
    const cancelled = await client.send(new CancelRotateSecretCommand({ SecretId: name }));
    expect(cancelled.VersionId).toBe(token(3));
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).RotationEnabled).toBe(false);
    expect((await rejection(client.send(new CancelRotateSecretCommand({ SecretId: name })))).name).toBe('InvalidRequestException');
  });

  it('needs a rotation function, and with RotateImmediately false only stores the configuration', async () => {
    const name = uniqueName('config');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'old' }));
    expect((await rejection(client.send(new RotateSecretCommand({ SecretId: name })))).name).toBe('InvalidRequestException');
    const steps: RotationEvent[] = [];
    emulator.setRotationHandler(templateRotation(steps));
    await client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA, RotateImmediately: false }));
    expect(steps).toEqual([]);
    expect((await client.send(new DescribeSecretCommand({ SecretId: name }))).RotationEnabled).toBe(true);
    expect((await rejection(client.send(new RotateSecretCommand({ SecretId: 'missing', RotationLambdaARN: LAMBDA })))).name).toBe('ResourceNotFoundException');
  });

  it('generates passwords of the requested length and character classes', async () => {
    const plain = (await client.send(new GetRandomPasswordCommand({}))).RandomPassword!;
    expect(plain).toHaveLength(32);
    for (let i = 0; i < 20; i += 1) {
      const pw = (await client.send(new GetRandomPasswordCommand({ PasswordLength: 8, ExcludePunctuation: true, ExcludeCharacters: 'abc' }))).RandomPassword!;
      expect(pw).toMatch(/^[d-zA-Z0-9]{8}$/);
      expect(pw).toMatch(/[0-9]/);
      expect(pw).toMatch(/[A-Z]/);
      expect(pw).toMatch(/[d-z]/);
    }
    const digits = (await client.send(new GetRandomPasswordCommand({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true }))).RandomPassword!;
    expect(digits).toMatch(/^[0-9]{32}$/);
    const spaced = (await client.send(new GetRandomPasswordCommand({ PasswordLength: 5, ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true, IncludeSpace: true }))).RandomPassword!;
    expect(spaced).toBe('     ');
    const none = await rejection(client.send(new GetRandomPasswordCommand({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true })));
    expect(none.name).toBe('InvalidParameterException');
    expect((await rejection(client.send(new GetRandomPasswordCommand({ PasswordLength: 3 })))).name).toBe('InvalidParameterException');
    expect((await rejection(client.send(new GetRandomPasswordCommand({ PasswordLength: 4097 })))).name).toBe('InvalidParameterException');
  });
});
