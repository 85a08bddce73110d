import { describe, expect, it } from '@jest/globals';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerEmulator } from './secrets-manager-emulator.js';
import { rejection, token, uniqueName, useEmulator } from './spec-support.js';

describe('staging labels: UpdateSecretVersionStage and ListSecretVersionIds', () => {
  let emulator: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  /** A secret with v1 (AWSCURRENT) and v2 (AWSPENDING). */
  async function twoVersions(): Promise<string> {
    const name = uniqueName('stages');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: token(1) }));
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token(2), VersionStages: ['AWSPENDING'] }));
    return name;
  }
  const stages = async (name: string) => (await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages;

  it('moves AWSCURRENT only with RemoveFromVersionId naming its holder, and puts AWSPREVIOUS on the old version', async () => {
    const name = await twoVersions();
    const noRemove = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: token(2) })));
    expect(noRemove.name).toBe('InvalidParameterException');
    const wrongRemove = await rejection(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: token(2), RemoveFromVersionId: token(2) })),
    );
    expect(wrongRemove.name).toBe('InvalidParameterException');
    expect(await stages(name)).toEqual({ [token(1)]: ['AWSCURRENT'], [token(2)]: ['AWSPENDING'] });
    const moved = await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: token(2), RemoveFromVersionId: token(1) }),
    );
    expect(moved.Name).toBe(name);
    expect(await stages(name)).toEqual({ [token(1)]: ['AWSPREVIOUS'], [token(2)]: ['AWSPENDING', 'AWSCURRENT'] });
  });

  it('never lets AWSCURRENT be removed without a move, but removes other labels', async () => {
    const name = await twoVersions();
    const removeCurrent = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', RemoveFromVersionId: token(1) })));
    expect(removeCurrent.name).toBe('InvalidParameterException');
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', RemoveFromVersionId: token(2) }));
    expect(await stages(name)).toEqual({ [token(1)]: ['AWSCURRENT'] });
    // The unlabelled version is deprecated: listed only with IncludeDeprecated.
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(listed.Versions?.map((v) => v.VersionId)).toEqual([token(1)]);
    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    expect(all.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual([
      [token(1), ['AWSCURRENT']],
      [token(2), undefined],
    ]);
    expect(all.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);
  });

  it('attaches a custom label and answers errors for unknown versions and a label not on RemoveFromVersionId', async () => {
    const name = await twoVersions();
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'BLUE', MoveToVersionId: token(1) }));
    expect((await stages(name))?.[token(1)]).toEqual(['AWSCURRENT', 'BLUE']);
    const unknown = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'BLUE', MoveToVersionId: token(77) })));
    expect(unknown.name).toBe('ResourceNotFoundException');
    const notThere = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'BLUE', RemoveFromVersionId: token(2) })));
    expect(notThere.name).toBe('InvalidParameterException');
    const neither = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'BLUE' })));
    expect(neither.name).toBe('InvalidParameterException');
    const missing = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'nope', VersionStage: 'BLUE', MoveToVersionId: token(1) })));
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('keeps exactly one AWSCURRENT through many PutSecretValue calls and prunes deprecated versions beyond 100', async () => {
    const name = uniqueName('many');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v0' }));
    for (let i = 1; i <= 103; i += 1) await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: `v${i}` }));
    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    const labelled = (await client.send(new ListSecretVersionIdsCommand({ SecretId: name }))).Versions ?? [];
    expect(labelled.filter((v) => v.VersionStages?.includes('AWSCURRENT'))).toHaveLength(1);
    expect(labelled.filter((v) => v.VersionStages?.includes('AWSPREVIOUS'))).toHaveLength(1);
    expect(all.Versions).toHaveLength(100);
    const next = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 60 }));
    expect(next.Versions).toHaveLength(60);
    const rest = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 60, NextToken: next.NextToken }));
    expect(rest.Versions).toHaveLength(42);
    expect(rest.NextToken).toBeUndefined();
  });
});
