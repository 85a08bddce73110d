import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createEnvelope, KeywardError, localKek, type KekProvider } from '@keyward/core';
import { describeKekConformance, describeRewrapInPostgres, localHarness } from '@keyward/test-support/envelope';

describeKekConformance('localKek', async () => localHarness());
describeRewrapInPostgres('localKek', async () => localHarness('notes'));

describe('localKek', () => {
  const key = () => randomBytes(32).toString('base64');

  it('reads its key set from a JSON string or a record, and refuses a bad one with CONFIG_INVALID, never quoting it', async () => {
    const planted = 'c2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    for (const keys of ['not json', '[]', '{}', JSON.stringify({ '1': planted }), JSON.stringify({ v1: key() }), JSON.stringify({ '1': key(), min_decryption_version: '3' })]) {
      const err = await localKek({ keys }).currentVersion().then(() => undefined, (e: unknown) => e);
      expect(KeywardError.is(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).not.toContain(planted);
    }
    expect(await localKek({ keys: JSON.stringify({ '1': key(), '3': key() }) }).currentVersion()).toBe('3');
  });

  it('refuses a wrapped key moved to another key id', async () => {
    const keys = { '1': key() };
    const a: KekProvider = localKek({ keyId: 'a', keys });
    const b: KekProvider = localKek({ keyId: 'b', keys });
    const sealed = await createEnvelope({ kek: a }).encrypt('moved');
    const json = await createEnvelope({ kek: a }).encrypt('moved', { form: 'json' });
    await expect(createEnvelope({ kek: b }).decrypt(sealed)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    await expect(createEnvelope({ kek: b }).decrypt({ ...json, kek: { ...json.kek, keyId: 'b' } })).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});
