import { describe, expect, it } from '@jest/globals';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  DecryptCommand,
  DisabledException,
  DisableKeyCommand,
  DryRunOperationException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSInvalidStateException,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { createKey, KEY_MATERIAL_ID, rejection, useEmulator } from './spec-support.js';

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes!).toString('utf8');

describe('KMS emulator: Encrypt, Decrypt, ReEncrypt, GenerateDataKey', () => {
  let client: KMSClient;
  useEmulator((_e, c) => {
    client = c;
  });

  const encrypt = async (KeyId: string, plaintext: string, EncryptionContext?: Record<string, string>): Promise<Uint8Array> =>
    (await client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(plaintext), EncryptionContext }))).CiphertextBlob!;

  it('round-trips through Encrypt and Decrypt, with or without the KeyId, by key ID, ARN or alias', async () => {
    const key = await createKey(client);
    await client.send(new CreateAliasCommand({ AliasName: 'alias/round-trip', TargetKeyId: key.id }));
    const context = { table: 'notes', id: '42' };
    const blob = await encrypt('alias/round-trip', 'hello', context);
    for (const KeyId of [undefined, key.id, key.arn, 'alias/round-trip']) {
      const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId, EncryptionContext: context }));
      expect(text(decrypted.Plaintext)).toBe('hello');
      expect(decrypted).toMatchObject({ KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      expect(decrypted.KeyMaterialId).toMatch(KEY_MATERIAL_ID);
    }
    // The context is a set of pairs: their order does not matter.
    const reordered = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { id: '42', table: 'notes' } }));
    expect(text(reordered.Plaintext)).toBe('hello');
    // Two encryptions of the same plaintext differ (random IV).
    expect(Buffer.from(await encrypt(key.id, 'hello', context)).equals(Buffer.from(blob))).toBe(false);
  });

  it('rejects a wrong, missing or extra context pair, and any changed byte, as InvalidCiphertextException', async () => {
    const key = await createKey(client);
    const blob = Buffer.from(await encrypt(key.id, 'secret', { table: 'notes', id: '42' }));
    const tries: [Uint8Array, Record<string, string> | undefined][] = [
      [blob, { table: 'notes', id: '43' }],
      [blob, undefined],
      [blob, { table: 'notes' }],
      [blob, { table: 'notes', id: '42', extra: 'x' }],
      // Pairs that concatenate to the same text are still another context.
      [blob, { tablenotes: '', id: '42' }],
    ];
    for (let i = 0; i < blob.length; i += 1) {
      const flipped = Buffer.from(blob);
      flipped[i] = flipped[i]! ^ 0x01;
      tries.push([flipped, { table: 'notes', id: '42' }]);
    }
    tries.push([blob.subarray(0, blob.length - 1), { table: 'notes', id: '42' }]);
    for (const [CiphertextBlob, EncryptionContext] of tries) {
      const err = await rejection(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })));
      // A flipped byte inside the key ID can name no key at all: KMS then refuses access to "that" key.
      if (err.name === 'AccessDeniedException') continue;
      expect(err).toBeInstanceOf(InvalidCiphertextException);
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    expect(await rejection(client.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a KMS ciphertext at all') })))).toBeInstanceOf(InvalidCiphertextException);
  });

  it('answers IncorrectKeyException when the KeyId is not the key that encrypted, and AccessDeniedException for a key that does not exist', async () => {
    const key = await createKey(client);
    const other = await createKey(client);
    const blob = Buffer.from(await encrypt(key.id, 'secret'));
    const wrongKey = await rejection(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: other.arn })));
    expect(wrongKey).toBeInstanceOf(IncorrectKeyException);
    expect(wrongKey.$metadata?.httpStatusCode).toBe(400);
    // The same blob, naming a key ID that was never created (same length, so the layout holds).
    const orphan = Buffer.from(blob);
    orphan.write('00000000-0000-0000-0000-000000000000', 2, 'utf8');
    const missing = await rejection(client.send(new DecryptCommand({ CiphertextBlob: orphan })));
    expect(missing.name).toBe('AccessDeniedException');
    expect(missing.message).toBe('The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');
    // With a KeyId, the blob is first of all not that key's.
    expect(await rejection(client.send(new DecryptCommand({ CiphertextBlob: orphan, KeyId: key.id })))).toBeInstanceOf(IncorrectKeyException);
  });

  it('refuses a disabled key (DisabledException) and a key pending deletion (KMSInvalidStateException) until it is back', async () => {
    const key = await createKey(client);
    const blob = await encrypt(key.id, 'kept');
    await client.send(new DisableKeyCommand({ KeyId: key.id }));
    for (const send of [
      () => client.send(new DecryptCommand({ CiphertextBlob: blob })),
      () => client.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') })),
      () => client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256' })),
    ]) {
      const err = await rejection(send());
      expect(err).toBeInstanceOf(DisabledException);
      expect(err.message).toBe(`${key.arn} is disabled.`);
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    await client.send(new EnableKeyCommand({ KeyId: key.id }));
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    const pending = await rejection(client.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(pending).toBeInstanceOf(KMSInvalidStateException);
    expect(pending.message).toBe(`${key.arn} is pending deletion.`);
    await client.send(new CancelKeyDeletionCommand({ KeyId: key.id }));
    await client.send(new EnableKeyCommand({ KeyId: key.id }));
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('kept');
  });

  it('generates data keys of AES_256, AES_128 or NumberOfBytes, with and without the plaintext', async () => {
    const key = await createKey(client);
    const context = { purpose: 'test' };
    const aes256 = await client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', EncryptionContext: context }));
    expect(aes256.Plaintext).toHaveLength(32);
    expect(aes256).toMatchObject({ KeyId: key.arn });
    expect(aes256.KeyMaterialId).toMatch(KEY_MATERIAL_ID);
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: aes256.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(decrypted.Plaintext!).equals(Buffer.from(aes256.Plaintext!))).toBe(true);
    expect(decrypted.KeyMaterialId).toBe(aes256.KeyMaterialId);
    expect((await client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_128' }))).Plaintext).toHaveLength(16);
    expect((await client.send(new GenerateDataKeyCommand({ KeyId: key.id, NumberOfBytes: 64 }))).Plaintext).toHaveLength(64);

    const withoutPlaintext = await client.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.arn, KeySpec: 'AES_256' }));
    expect(withoutPlaintext).not.toHaveProperty('Plaintext');
    expect(withoutPlaintext.KeyMaterialId).toBe(aes256.KeyMaterialId);
    expect((await client.send(new DecryptCommand({ CiphertextBlob: withoutPlaintext.CiphertextBlob }))).Plaintext).toHaveLength(32);
  });

  it('validates requests as KMS does', async () => {
    const key = await createKey(client);
    const invalid = async (send: Promise<unknown>, message: string | RegExp) => {
      const err = await rejection(send);
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(message);
    };
    const either = 'Please specify either number of bytes or key spec.';
    await invalid(client.send(new GenerateDataKeyCommand({ KeyId: key.id })), either);
    await invalid(client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', NumberOfBytes: 32 })), either);
    await invalid(client.send(new GenerateDataKeyCommand({ KeyId: key.id, NumberOfBytes: 1025 })), "Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
    await invalid(client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_512' as 'AES_256' })), "Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]");
    await invalid(client.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.alloc(4097) })), /at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096/);
    await invalid(client.send(new EncryptCommand({ KeyId: '', Plaintext: Buffer.from('x') })), /at 'keyId'/);
    const asymmetric = await rejection(client.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })));
    expect(asymmetric).toBeInstanceOf(InvalidKeyUsageException);
    const dryRun = await rejection(client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', DryRun: true })));
    expect(dryRun).toBeInstanceOf(DryRunOperationException);
  });

  it('re-encrypts under another key and context without the plaintext leaving, checking the source first', async () => {
    const source = await createKey(client);
    const destination = await createKey(client);
    const blob = await encrypt(source.id, 'moved', { tenant: 'a' });
    const moved = await client.send(
      new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: { tenant: 'a' }, DestinationKeyId: destination.id, DestinationEncryptionContext: { tenant: 'b' } }),
    );
    expect(moved).toMatchObject({ KeyId: destination.arn, SourceKeyId: source.arn, SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    expect(moved.SourceKeyMaterialId).toMatch(KEY_MATERIAL_ID);
    expect(moved.DestinationKeyMaterialId).toMatch(KEY_MATERIAL_ID);
    expect(moved).not.toHaveProperty('Plaintext');
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: { tenant: 'b' } }))).Plaintext)).toBe('moved');
    expect(await rejection(client.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: { tenant: 'a' } })))).toBeInstanceOf(InvalidCiphertextException);

    const base = { CiphertextBlob: blob, DestinationKeyId: destination.id };
    expect(await rejection(client.send(new ReEncryptCommand({ ...base, SourceEncryptionContext: { tenant: 'x' } })))).toBeInstanceOf(InvalidCiphertextException);
    expect(await rejection(client.send(new ReEncryptCommand({ ...base, SourceEncryptionContext: { tenant: 'a' }, SourceKeyId: destination.id })))).toBeInstanceOf(IncorrectKeyException);
    await client.send(new DisableKeyCommand({ KeyId: destination.id }));
    expect(await rejection(client.send(new ReEncryptCommand({ ...base, SourceEncryptionContext: { tenant: 'a' } })))).toBeInstanceOf(DisabledException);
  });
});
