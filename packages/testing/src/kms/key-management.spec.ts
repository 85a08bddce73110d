import { describe, expect, it } from '@jest/globals';
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  InvalidAliasNameException,
  InvalidMarkerException,
  KMSInvalidStateException,
  ListAliasesCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  UnsupportedOperationException,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { keyManagementOperations } from './key-management.js';
import type { KmsEmulator } from './kms-emulator.js';
import { KeyStore } from './key-store.js';
import { createKey, rejection, useEmulator } from './spec-support.js';

const DAY_MS = 86_400_000;

describe('KMS emulator: keys and aliases', () => {
  let emulator: KmsEmulator;
  let client: KMSClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  it('creates symmetric encryption keys and refuses the kinds it cannot make', async () => {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'envelope KEK' }));
    expect(KeyMetadata).toMatchObject({
      AWSAccountId: '123456789012',
      Description: 'envelope KEK',
      Enabled: true,
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    });
    expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:${emulator.region}:123456789012:key/${KeyMetadata!.KeyId}`);
    expect(KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(KeyMetadata!.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    for (const input of [{ KeySpec: 'RSA_2048' as const }, { KeyUsage: 'SIGN_VERIFY' as const }, { Origin: 'EXTERNAL' as const }, { MultiRegion: true }]) {
      expect(await rejection(client.send(new CreateKeyCommand(input)))).toBeInstanceOf(UnsupportedOperationException);
    }
  });

  it('finds a key by key ID, key ARN, alias name and alias ARN, and says which was not found', async () => {
    const key = await createKey(client);
    await client.send(new CreateAliasCommand({ AliasName: 'alias/app/kek', TargetKeyId: key.id }));
    const aliasArn = `arn:aws:kms:${emulator.region}:123456789012:alias/app/kek`;
    for (const KeyId of [key.id, key.arn, 'alias/app/kek', aliasArn]) {
      expect((await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.Arn).toBe(key.arn);
    }
    const unknownKey = await rejection(client.send(new DescribeKeyCommand({ KeyId: '11111111-2222-3333-4444-555555555555' })));
    expect(unknownKey).toBeInstanceOf(NotFoundException);
    expect(unknownKey.message).toBe(`Key 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555' does not exist`);
    const unknownAlias = await rejection(client.send(new DescribeKeyCommand({ KeyId: 'alias/app/none' })));
    expect(unknownAlias).toBeInstanceOf(NotFoundException);
    expect(unknownAlias.message).toBe('Alias arn:aws:kms:us-east-1:123456789012:alias/app/none is not found.');
    const otherAccount = await rejection(client.send(new DescribeKeyCommand({ KeyId: key.arn.replace('123456789012', '999999999999') })));
    expect(otherAccount).toBeInstanceOf(NotFoundException);
    // Key-management operations take a key ID or key ARN only.
    expect(await rejection(client.send(new DisableKeyCommand({ KeyId: 'alias/app/kek' })))).toBeInstanceOf(NotFoundException);
  });

  it('refuses duplicate, malformed and reserved alias names, aliases of aliases, and keys pending deletion', async () => {
    const key = await createKey(client);
    await client.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.id }));
    const duplicate = await rejection(client.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.id })));
    expect(duplicate).toBeInstanceOf(AlreadyExistsException);
    expect(duplicate.message).toBe('An alias with the name arn:aws:kms:us-east-1:123456789012:alias/dup already exists');
    for (const AliasName of ['no-prefix', 'alias/with space', 'alias/aws/mine']) {
      expect(await rejection(client.send(new CreateAliasCommand({ AliasName, TargetKeyId: key.id })))).toBeInstanceOf(InvalidAliasNameException);
    }
    expect(await rejection(client.send(new CreateAliasCommand({ AliasName: 'alias/of-alias', TargetKeyId: 'alias/dup' })))).toBeInstanceOf(NotFoundException);
    const doomed = await createKey(client);
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.id, PendingWindowInDays: 7 }));
    expect(await rejection(client.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: doomed.id })))).toBeInstanceOf(KMSInvalidStateException);
  });

  it('lists aliases, for one key or all, a page at a time', async () => {
    const key = await createKey(client);
    for (const name of ['alias/list/a', 'alias/list/b', 'alias/list/c']) await client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.id }));
    const first = await client.send(new ListAliasesCommand({ KeyId: key.arn, Limit: 2 }));
    expect(first.Aliases?.map((a) => a.AliasName)).toEqual(['alias/list/a', 'alias/list/b']);
    expect(first).toMatchObject({ Truncated: true });
    const second = await client.send(new ListAliasesCommand({ KeyId: key.id, Limit: 2, Marker: first.NextMarker }));
    expect(second.Aliases?.map((a) => a.AliasName)).toEqual(['alias/list/c']);
    expect(second.Truncated).toBe(false);
    expect(second.NextMarker).toBeUndefined();
    expect(second.Aliases?.[0]).toMatchObject({ AliasArn: 'arn:aws:kms:us-east-1:123456789012:alias/list/c', TargetKeyId: key.id });
    expect(second.Aliases?.[0]?.CreationDate).toBeInstanceOf(Date);
    expect((await client.send(new ListAliasesCommand({}))).Aliases?.map((a) => a.AliasName)).toEqual(expect.arrayContaining(['alias/list/a', 'alias/list/c']));
    expect(await rejection(client.send(new ListAliasesCommand({ Marker: 'bogus' })))).toBeInstanceOf(InvalidMarkerException);
  });

  it('disables and enables a key', async () => {
    const key = await createKey(client);
    await client.send(new DisableKeyCommand({ KeyId: key.id }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata).toMatchObject({ Enabled: false, KeyState: 'Disabled' });
    await client.send(new EnableKeyCommand({ KeyId: key.arn }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata).toMatchObject({ Enabled: true, KeyState: 'Enabled' });
  });

  it('schedules a deletion 7 to 30 days ahead (30 by default), and a cancelled one leaves the key disabled', async () => {
    const key = await createKey(client);
    for (const PendingWindowInDays of [6, 31]) {
      const err = await rejection(client.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(new RegExp(`^1 validation error detected: Value '${PendingWindowInDays}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value (greater|less) than or equal to (7|30)$`));
    }
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.id }));
    expect(scheduled).toMatchObject({ KeyId: key.arn, KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
    expect(Math.abs(scheduled.DeletionDate!.getTime() - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
    const described = (await client.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!;
    expect(described).toMatchObject({ Enabled: false, KeyState: 'PendingDeletion', PendingDeletionWindowInDays: 30, DeletionDate: scheduled.DeletionDate });

    const again = await rejection(client.send(new ScheduleKeyDeletionCommand({ KeyId: key.id })));
    expect(again).toBeInstanceOf(KMSInvalidStateException);
    expect(again.message).toBe(`${key.arn} is pending deletion.`);
    expect(await rejection(client.send(new EnableKeyCommand({ KeyId: key.id })))).toBeInstanceOf(KMSInvalidStateException);
    expect(await rejection(client.send(new DisableKeyCommand({ KeyId: key.id })))).toBeInstanceOf(KMSInvalidStateException);

    expect((await client.send(new CancelKeyDeletionCommand({ KeyId: key.id }))).KeyId).toBe(key.arn);
    const cancelled = (await client.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!;
    expect(cancelled).toMatchObject({ Enabled: false, KeyState: 'Disabled' });
    expect(cancelled.DeletionDate).toBeUndefined();
    expect(await rejection(client.send(new CancelKeyDeletionCommand({ KeyId: key.id })))).toBeInstanceOf(KMSInvalidStateException);
  });

  it('deletes a key and its aliases once the waiting period has passed', () => {
    let now = Date.UTC(2026, 0, 1);
    const store = new KeyStore('us-east-1', '123456789012', () => now);
    const { KeyMetadata } = keyManagementOperations.CreateKey!(store, {}) as { KeyMetadata: { KeyId: string } };
    keyManagementOperations.CreateAlias!(store, { AliasName: 'alias/short-lived', TargetKeyId: KeyMetadata.KeyId });
    keyManagementOperations.ScheduleKeyDeletion!(store, { KeyId: KeyMetadata.KeyId, PendingWindowInDays: 7 });
    now += 7 * DAY_MS - 1;
    expect(store.get(KeyMetadata.KeyId).state).toBe('PendingDeletion');
    now += 1;
    expect(() => store.get(KeyMetadata.KeyId)).toThrow(/does not exist/);
    expect(() => store.get('alias/short-lived')).toThrow(/is not found/);
    expect(store.allAliases()).toEqual([]);
  });
});
