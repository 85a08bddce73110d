import { describe, expect, it } from '@jest/globals';
import {
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  KMSInvalidStateException,
  LimitExceededException,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { createKey, KEY_MATERIAL_ID, rejection, useEmulator } from './spec-support.js';

const DAY_MS = 86_400_000;

describe('KMS emulator: key material rotation', () => {
  let client: KMSClient;
  useEmulator((_e, c) => {
    client = c;
  });

  const currentMaterial = async (KeyId: string): Promise<string> => (await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;

  it('rotates on demand: new material encrypts, the old one still decrypts, ReEncrypt moves a ciphertext to the new one', async () => {
    const key = await createKey(client);
    const context = { table: 'notes' };
    const before = await client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', EncryptionContext: context }));
    const first = await currentMaterial(key.id);
    expect(before.KeyMaterialId).toBe(first);

    expect((await client.send(new RotateKeyOnDemandCommand({ KeyId: key.arn }))).KeyId).toBe(key.id);
    const second = await currentMaterial(key.id);
    expect(second).toMatch(KEY_MATERIAL_ID);
    expect(second).not.toBe(first);

    const after = await client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', EncryptionContext: context }));
    expect(after.KeyMaterialId).toBe(second);
    const old = await client.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: context }));
    expect(old.KeyMaterialId).toBe(first);
    expect(Buffer.from(old.Plaintext!).equals(Buffer.from(before.Plaintext!))).toBe(true);

    const rewrapped = await client.send(
      new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: key.id, DestinationEncryptionContext: context }),
    );
    expect(rewrapped).toMatchObject({ SourceKeyMaterialId: first, DestinationKeyMaterialId: second, KeyId: key.arn, SourceKeyId: key.arn });
    const moved = await client.send(new DecryptCommand({ CiphertextBlob: rewrapped.CiphertextBlob, EncryptionContext: context }));
    expect(moved.KeyMaterialId).toBe(second);
    expect(Buffer.from(moved.Plaintext!).equals(Buffer.from(before.Plaintext!))).toBe(true);
  });

  it('lists completed rotations, or every key material with IncludeKeyMaterial ALL_KEY_MATERIAL', async () => {
    const key = await createKey(client);
    const first = await currentMaterial(key.id);
    expect((await client.send(new ListKeyRotationsCommand({ KeyId: key.id }))).Rotations).toEqual([]);
    await client.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const second = await currentMaterial(key.id);
    await client.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const third = await currentMaterial(key.id);

    const rotations = await client.send(new ListKeyRotationsCommand({ KeyId: key.arn }));
    expect(rotations.Truncated).toBe(false);
    expect(rotations.Rotations?.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.RotationType])).toEqual([
      [second, 'NON_CURRENT', 'ON_DEMAND'],
      [third, 'CURRENT', 'ON_DEMAND'],
    ]);
    expect(rotations.Rotations?.[0]?.KeyId).toBe(key.id);
    expect(Math.abs(rotations.Rotations![1]!.RotationDate!.getTime() - Date.now())).toBeLessThan(60_000);

    const all = await client.send(new ListKeyRotationsCommand({ KeyId: key.id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 2 }));
    expect(all.Rotations?.map((r) => r.KeyMaterialId)).toEqual([first, second]);
    // The first material was not made by a rotation: no RotationDate, no RotationType.
    expect(all.Rotations?.[0]).toEqual({ KeyId: key.id, KeyMaterialId: first, KeyMaterialState: 'NON_CURRENT' });
    expect(all.Truncated).toBe(true);
    const rest = await client.send(new ListKeyRotationsCommand({ KeyId: key.id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Marker: all.NextMarker }));
    expect(rest.Rotations?.map((r) => [r.KeyMaterialId, r.KeyMaterialState])).toEqual([[third, 'CURRENT']]);
  });

  it('refuses to rotate a disabled key, a key pending deletion, and a key past its 25 on-demand rotations', async () => {
    const key = await createKey(client);
    await client.send(new DisableKeyCommand({ KeyId: key.id }));
    expect(await rejection(client.send(new RotateKeyOnDemandCommand({ KeyId: key.id })))).toBeInstanceOf(DisabledException);
    await client.send(new EnableKeyCommand({ KeyId: key.id }));
    for (let i = 0; i < 25; i += 1) await client.send(new RotateKeyOnDemandCommand({ KeyId: key.id }));
    const quota = await rejection(client.send(new RotateKeyOnDemandCommand({ KeyId: key.id })));
    expect(quota).toBeInstanceOf(LimitExceededException);
    expect(quota.$metadata?.httpStatusCode).toBe(400);
    expect((await client.send(new ListKeyRotationsCommand({ KeyId: key.id }))).Rotations).toHaveLength(25);

    const doomed = await createKey(client);
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.id, PendingWindowInDays: 7 }));
    expect(await rejection(client.send(new RotateKeyOnDemandCommand({ KeyId: doomed.id })))).toBeInstanceOf(KMSInvalidStateException);
  });

  it('reports the automatic rotation schedule: period 90 to 2560 days, 365 by default', async () => {
    const key = await createKey(client);
    expect(await client.send(new GetKeyRotationStatusCommand({ KeyId: key.id }))).toMatchObject({ KeyRotationEnabled: false, KeyId: key.id });
    const tooShort = await rejection(client.send(new EnableKeyRotationCommand({ KeyId: key.id, RotationPeriodInDays: 89 })));
    expect(tooShort.name).toBe('ValidationException');
    expect(tooShort.message).toBe("1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90");

    await client.send(new EnableKeyRotationCommand({ KeyId: key.id }));
    expect((await client.send(new GetKeyRotationStatusCommand({ KeyId: key.id }))).RotationPeriodInDays).toBe(365);
    await client.send(new EnableKeyRotationCommand({ KeyId: key.arn, RotationPeriodInDays: 180 }));
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: key.id }));
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 180 });
    expect(Math.abs(status.NextRotationDate!.getTime() - (Date.now() + 180 * DAY_MS))).toBeLessThan(60_000);

    await client.send(new DisableKeyRotationCommand({ KeyId: key.id }));
    const disabled = await client.send(new GetKeyRotationStatusCommand({ KeyId: key.id }));
    expect(disabled.KeyRotationEnabled).toBe(false);
    expect(disabled.NextRotationDate).toBeUndefined();
    await client.send(new DisableKeyCommand({ KeyId: key.id }));
    expect(await rejection(client.send(new EnableKeyRotationCommand({ KeyId: key.id })))).toBeInstanceOf(DisabledException);
  });
});
