import { describe, expect, it } from '@jest/globals';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { KmsEmulator } from './kms-emulator.js';
import { createKey, KEY_MATERIAL_ID, useEmulator, wire } from './spec-support.js';

/**
 * The request and response examples of the AWS KMS API Reference (docs.aws.amazon.com/kms/latest/
 * APIReference/API_<Operation>.html, and the examples in @aws-sdk/client-kms's model where the page
 * has none), sent on the wire as written but for the example's key, whose IDs are replaced by a
 * key the emulator made. Each answer must carry exactly the documented fields, with values of the
 * documented kind: the same constants, ARNs and key IDs, 64-hex key material IDs, base64 blobs,
 * timestamps as epoch-second numbers (the JSON protocol's form of the dates the examples print).
 */
const EXAMPLE_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const EXAMPLE_DESTINATION_KEY_ID = '0987dcba-09fe-87dc-65ba-ab0987654321';
const EXAMPLE_KEY_ARN = `arn:aws:kms:us-east-2:111122223333:key/${EXAMPLE_KEY_ID}`;
const EXAMPLE_MATERIAL_ID = '0b7fd7ddbac6eef27907413567cad8c810e2883dc8a7534067a82ee1142fc1e6';
const EXAMPLE_BLOB = 'AQEDAHjRYf5WytIc0C857tFSnBaPn2F8DgfmThbJlGfR8P3WlwAAAH4wfAYJKoZIhvcNAQcGoG8wbQIBADBoBgkqhkiG9w0BBwEwHgYJYIZIAWUDBAEuMBEEDEFogLqPWZconQhwHAIBEIA7d9AC7GeJJM34njQvg4Wf1d5sw0NIo1MrBqZa+YdhV8MrkBQPeac0ReRVNDt9qleAt+SHgIRF8P0H+7U=';
const EXAMPLE_DATE = '2025-04-16T16:03:04.060000-07:00';

const DOCUMENTED_KEY_METADATA = {
  AWSAccountId: '111122223333',
  Arn: EXAMPLE_KEY_ARN,
  CreationDate: EXAMPLE_DATE,
  CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
  Description: '',
  Enabled: true,
  KeyId: EXAMPLE_KEY_ID,
  KeyManager: 'CUSTOMER',
  KeySpec: 'SYMMETRIC_DEFAULT',
  KeyState: 'Enabled',
  KeyUsage: 'ENCRYPT_DECRYPT',
  MultiRegion: false,
  Origin: 'AWS_KMS',
  EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
  CurrentKeyMaterialId: EXAMPLE_MATERIAL_ID,
};

/** The kind each documented field's value must have; fields not named here must equal the documented value. */
const KINDS: Readonly<Record<string, (value: unknown, documented: unknown) => void>> = {
  AWSAccountId: (v) => expect(v).toMatch(/^\d{12}$/),
  KeyId: (v, d) => expect(v).toMatch(String(d).startsWith('arn:') ? KEY_ARN : KEY_ID),
  TargetKeyId: (v) => expect(v).toMatch(KEY_ID),
  Arn: (v) => expect(v).toMatch(KEY_ARN),
  SourceKeyId: (v) => expect(v).toMatch(KEY_ARN),
  AliasArn: (v) => expect(v).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:alias\/.+$/),
  KeyMaterialId: (v) => expect(v).toMatch(KEY_MATERIAL_ID),
  CurrentKeyMaterialId: (v) => expect(v).toMatch(KEY_MATERIAL_ID),
  SourceKeyMaterialId: (v) => expect(v).toMatch(KEY_MATERIAL_ID),
  DestinationKeyMaterialId: (v) => expect(v).toMatch(KEY_MATERIAL_ID),
  CiphertextBlob: (v) => expect(v).toMatch(BASE64),
  Plaintext: (v) => expect(v).toMatch(BASE64),
  CreationDate: (v) => expect(typeof v).toBe('number'),
  LastUpdatedDate: (v) => expect(typeof v).toBe('number'),
  DeletionDate: (v) => expect(typeof v).toBe('number'),
  RotationDate: (v) => expect(typeof v).toBe('number'),
  NextRotationDate: (v) => expect(typeof v).toBe('number'),
};
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `actual` has the documented fields and only them (arrays: element by element), each of the documented kind. */
function expectLikeDocumented(actual: unknown, documented: unknown, field = '(response)'): void {
  const kind = KINDS[field];
  if (kind) return kind(actual, documented);
  if (Array.isArray(documented)) {
    expect(Array.isArray(actual)).toBe(true);
    expect((actual as unknown[]).length).toBe(documented.length);
    documented.forEach((d, i) => expectLikeDocumented((actual as unknown[])[i], d, field));
    return;
  }
  if (typeof documented === 'object' && documented !== null) {
    expect(Object.keys(actual as object).sort()).toEqual(Object.keys(documented).sort());
    for (const [name, d] of Object.entries(documented)) expectLikeDocumented((actual as Record<string, unknown>)[name], d, name);
    return;
  }
  expect(actual).toEqual(documented);
}

describe('KMS emulator: the API Reference examples, on the wire', () => {
  let emulator: KmsEmulator;
  let client: KMSClient;
  useEmulator((e, c) => {
    emulator = e;
    client = c;
  });

  /** Sends the example with the example's key IDs replaced; expects 200 and the documented answer's shape. */
  const example = async (operation: string, request: unknown, response: unknown, keys: Record<string, string>): Promise<Record<string, unknown>> => {
    let text = JSON.stringify(request);
    for (const [example, actual] of Object.entries(keys)) text = text.split(example).join(actual);
    const { status, json } = await wire(emulator, operation, text);
    expect({ operation, status }).toEqual({ operation, status: 200 });
    expectLikeDocumented(json, response);
    return json;
  };

  it('CreateKey and DescribeKey answer with the documented KeyMetadata of a symmetric key', async () => {
    const created = await example('CreateKey', { Tags: [{ TagValue: 'ExampleUser', TagKey: 'CreatedBy' }] }, { KeyMetadata: DOCUMENTED_KEY_METADATA }, {});
    const id = (created.KeyMetadata as { KeyId: string }).KeyId;
    await example('DescribeKey', { KeyId: EXAMPLE_KEY_ID }, { KeyMetadata: DOCUMENTED_KEY_METADATA }, { [EXAMPLE_KEY_ID]: id });
  });

  it('CreateAlias and ListAliases', async () => {
    const key = await createKey(client);
    await example('CreateAlias', { AliasName: 'alias/ExampleAlias', TargetKeyId: EXAMPLE_KEY_ID }, {}, { [EXAMPLE_KEY_ID]: key.id });
    // The example lists aliases without dates; AliasListEntry's syntax has CreationDate and LastUpdatedDate, which KMS sends for customer aliases.
    const entry = { AliasArn: 'arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias', AliasName: 'alias/ExampleAlias', TargetKeyId: EXAMPLE_KEY_ID, CreationDate: 1, LastUpdatedDate: 1 };
    await example('ListAliases', {}, { Aliases: [entry], Truncated: false }, {});
  });

  it('GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt and ReEncrypt', async () => {
    const key = await createKey(client);
    const destination = await createKey(client);
    expect((await wire(emulator, 'CreateAlias', { AliasName: 'alias/ExampleDataAlias', TargetKeyId: key.id })).status).toBe(200);
    const keys = { 'alias/ExampleAlias': 'alias/ExampleDataAlias', [EXAMPLE_KEY_ARN]: key.arn, [EXAMPLE_KEY_ID]: key.id, [EXAMPLE_DESTINATION_KEY_ID]: destination.id };
    const generated = await example(
      'GenerateDataKey',
      { KeyId: 'alias/ExampleAlias', KeySpec: 'AES_256' },
      { CiphertextBlob: EXAMPLE_BLOB, KeyId: EXAMPLE_KEY_ARN, KeyMaterialId: EXAMPLE_MATERIAL_ID, Plaintext: 'VdzKNHGzUAzJeRBVY+uUmofUGGiDzyB3+i9fVkh3piw=' },
      keys,
    );
    expect(Buffer.from(generated.Plaintext as string, 'base64')).toHaveLength(32);
    await example(
      'GenerateDataKeyWithoutPlaintext',
      { KeyId: 'alias/ExampleAlias', KeySpec: 'AES_256' },
      { CiphertextBlob: EXAMPLE_BLOB, KeyId: EXAMPLE_KEY_ARN, KeyMaterialId: EXAMPLE_MATERIAL_ID },
      keys,
    );
    const plaintext = 'VGhpcyBpcyBEYXkgMSBmb3IgdGhlIEludGVybmV0Cg==';
    const encrypted = await example(
      'Encrypt',
      { KeyId: EXAMPLE_KEY_ID, Plaintext: plaintext },
      { CiphertextBlob: EXAMPLE_BLOB, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyId: EXAMPLE_KEY_ARN },
      keys,
    );
    const decrypted = await example(
      'Decrypt',
      { KeyId: EXAMPLE_KEY_ARN, CiphertextBlob: encrypted.CiphertextBlob },
      { KeyId: EXAMPLE_KEY_ARN, KeyMaterialId: EXAMPLE_MATERIAL_ID, Plaintext: plaintext, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      keys,
    );
    expect(decrypted.Plaintext).toBe(plaintext);
    const reEncrypted = await example(
      'ReEncrypt',
      { SourceKeyId: EXAMPLE_KEY_ARN, DestinationKeyId: EXAMPLE_DESTINATION_KEY_ID, CiphertextBlob: encrypted.CiphertextBlob },
      {
        CiphertextBlob: EXAMPLE_BLOB,
        KeyId: EXAMPLE_KEY_ARN,
        SourceKeyId: EXAMPLE_KEY_ARN,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        SourceKeyMaterialId: EXAMPLE_MATERIAL_ID,
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationKeyMaterialId: '2067e8b4da7b0d8ffa80ff7afb5ea4637e103c98c3c110bdb84cc0a9de75e733',
      },
      keys,
    );
    expect(reEncrypted.KeyId).toBe(destination.arn);
    expect(reEncrypted.SourceKeyMaterialId).toBe(decrypted.KeyMaterialId);
  });

  it('EnableKeyRotation, GetKeyRotationStatus, DisableKeyRotation, RotateKeyOnDemand and ListKeyRotations', async () => {
    const key = await createKey(client);
    const keys = { [EXAMPLE_KEY_ID]: key.id };
    await example('EnableKeyRotation', { KeyId: EXAMPLE_KEY_ID, RotationPeriodInDays: 365 }, {}, keys);
    await example(
      'GetKeyRotationStatus',
      { KeyId: EXAMPLE_KEY_ID },
      { KeyId: EXAMPLE_KEY_ID, KeyRotationEnabled: true, NextRotationDate: '2024-02-14T18:14:33.587000+00:00', RotationPeriodInDays: 365 },
      keys,
    );
    await example('DisableKeyRotation', { KeyId: EXAMPLE_KEY_ID }, {}, keys);
    await example('RotateKeyOnDemand', { KeyId: EXAMPLE_KEY_ID }, { KeyId: EXAMPLE_KEY_ID }, keys);
    // The page's example spells the state field KeyMaterialType; its Response Syntax, RotationsListEntry
    // and the SDK's model call it KeyMaterialState, which is what the SDK reads.
    const rotation = { KeyId: EXAMPLE_KEY_ID, KeyMaterialId: EXAMPLE_MATERIAL_ID, KeyMaterialState: 'CURRENT', RotationDate: '2024-04-05T15:14:47.757000+00:00', RotationType: 'ON_DEMAND' };
    await example('ListKeyRotations', { KeyId: EXAMPLE_KEY_ID }, { Rotations: [rotation], Truncated: false }, keys);
  });

  it('DisableKey, EnableKey, ScheduleKeyDeletion and CancelKeyDeletion', async () => {
    const key = await createKey(client);
    const keys = { [EXAMPLE_KEY_ID]: key.id };
    await example('DisableKey', { KeyId: EXAMPLE_KEY_ID }, {}, keys);
    await example('EnableKey', { KeyId: EXAMPLE_KEY_ID }, {}, keys);
    // The model's example shows DeletionDate and KeyId; the Response Syntax adds KeyState and PendingWindowInDays.
    await example(
      'ScheduleKeyDeletion',
      { KeyId: EXAMPLE_KEY_ID, PendingWindowInDays: 7 },
      { DeletionDate: '2016-12-17T16:00:00-08:00', KeyId: EXAMPLE_KEY_ARN, KeyState: 'PendingDeletion', PendingWindowInDays: 7 },
      keys,
    );
    await example('CancelKeyDeletion', { KeyId: EXAMPLE_KEY_ID }, { KeyId: EXAMPLE_KEY_ARN }, keys);
  });
});
