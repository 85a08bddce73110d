import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { engineApi } from './spec-support.js';
import { startVaultDevServer, type VaultDevServer } from './vault-dev-server.js';

const SAMPLE = 'dGhlIHF1aWNrIGJyb3duIGZveAo='; // "the quick brown fox\n", the document's sample plaintext
const b64 = (text: string) => Buffer.from(text).toString('base64');
const TOO_OLD = 'ciphertext or signature version is disallowed by policy (too old)';
const MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

describe('transit secrets engine', () => {
  let server: VaultDevServer;
  const { call, post, data, refused } = engineApi(() => server);
  const encrypt = async (key: string, body: Record<string, unknown> = {}) => (await data(post(`transit/encrypt/${key}`, { plaintext: SAMPLE, ...body }))).ciphertext as string;

  beforeAll(async () => {
    server = await startVaultDevServer();
    expect((await post('sys/mounts/transit', { type: 'transit' })).status).toBe(204);
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('keys', () => {
    it('creates, reads and lists keys with the fields of the document', async () => {
      const created = await post('transit/keys/my-key');
      expect(created.status).toBe(200);
      expect(created.body.mount_type).toBe('transit');
      const read = await data(call('GET', 'transit/keys/my-key'));
      expect(read).toEqual({
        allow_plaintext_backup: false,
        auto_rotate_period: 0,
        deletion_allowed: false,
        derived: false,
        exportable: false,
        imported_key: false,
        keys: { '1': expect.any(Number) },
        latest_version: 1,
        min_available_version: 0,
        min_decryption_version: 1,
        min_encryption_version: 0,
        name: 'my-key',
        supports_decryption: true,
        supports_derivation: true,
        supports_encryption: true,
        supports_signing: false,
        type: 'aes256-gcm96',
      });
      expect(Math.abs(read.keys['1'] - Date.now() / 1000)).toBeLessThan(60);
      expect(created.body.data).toEqual(read);

      const again = await post('transit/keys/my-key', { type: 'chacha20-poly1305' });
      expect(again.body.warnings).toEqual(['key my-key already existed']);
      expect(again.body.data.type).toBe('aes256-gcm96');

      await post('transit/keys/another', { type: 'aes128-gcm96', exportable: true, allow_plaintext_backup: true, auto_rotate_period: '24h' });
      expect(await data(call('GET', 'transit/keys/another'))).toMatchObject({ type: 'aes128-gcm96', exportable: true, allow_plaintext_backup: true, auto_rotate_period: 86_400 });
      expect((await data(call('LIST', 'transit/keys'))).keys).toEqual(expect.arrayContaining(['another', 'my-key']));
      expect((await data(call('GET', 'transit/keys?list=true'))).keys).toEqual(expect.arrayContaining(['another', 'my-key']));
    });

    it('answers an unknown key as Vault does on each path', async () => {
      expect(await call('GET', 'transit/keys/nope')).toMatchObject({ status: 404, body: { errors: [] } });
      expect(await post('transit/keys/nope/rotate')).toMatchObject(refused(400, 'key not found'));
      expect(await post('transit/keys/nope/config', { deletion_allowed: true })).toMatchObject(refused(400, 'no existing key named nope could be found'));
      expect(await call('DELETE', 'transit/keys/nope')).toMatchObject(refused(400, 'error deleting policy nope: could not delete policy; not found'));
      for (const path of ['transit/decrypt/nope', 'transit/rewrap/nope']) expect(await post(path, { ciphertext: 'vault:v1:abcd' })).toMatchObject(refused(400, 'encryption key not found'));
      expect(await post('transit/datakey/plaintext/nope')).toMatchObject(refused(400, 'encryption key not found'));
    });

    it("refuses bad key settings with Vault's messages", async () => {
      expect(await post('transit/keys/bad', { type: 'aes512' })).toMatchObject(refused(400, 'unknown key type aes512'));
      expect(await post('transit/keys/bad', { convergent_encryption: true })).toMatchObject(refused(400, 'convergent encryption requires derivation to be enabled'));
      expect(await post('transit/keys/bad', { auto_rotate_period: '30m' })).toMatchObject(refused(400, 'auto rotate period must be 0 to disable or at least an hour'));
      expect(await post('transit/keys/bad', { key_size: 64 })).toMatchObject(refused(400, 'key_size is not valid for algorithm aes256-gcm96'));
      expect((await post('transit/keys/bad', { type: 'ed25519' })).body.errors[0]).toMatch(/^key type ed25519 is not implemented by the Keyward Vault dev server/);
      expect((await call('GET', 'transit/keys/bad')).status).toBe(404);
    });

    it('deletes a key only once deletion_allowed is set', async () => {
      await post('transit/keys/doomed');
      expect(await call('DELETE', 'transit/keys/doomed')).toMatchObject(refused(400, 'error deleting policy doomed: deletion is not allowed for this policy'));
      expect((await data(post('transit/keys/doomed/config', { deletion_allowed: true }))).deletion_allowed).toBe(true);
      expect((await call('DELETE', 'transit/keys/doomed')).status).toBe(204);
      expect((await call('GET', 'transit/keys/doomed')).status).toBe(404);
    });
  });

  describe('encrypt, decrypt, rewrap', () => {
    beforeAll(async () => {
      await post('transit/keys/app');
    });

    it('encrypts the documented sample to vault:v1: + base64(nonce ‖ ciphertext ‖ tag) and decrypts it back', async () => {
      const answer = await data(post('transit/encrypt/app', { plaintext: SAMPLE }));
      expect(Object.keys(answer)).toEqual(['ciphertext', 'key_version']);
      expect(answer.key_version).toBe(1);
      expect(answer.ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(answer.ciphertext.slice('vault:v1:'.length), 'base64')).toHaveLength(12 + 20 + 16);
      expect(await encrypt('app')).not.toBe(answer.ciphertext); // a fresh nonce each time
      expect(await data(post('transit/decrypt/app', { ciphertext: answer.ciphertext }))).toEqual({ plaintext: SAMPLE });
      expect(await data(post('transit/decrypt/app', { ciphertext: await encrypt('app', { plaintext: '' }) }))).toEqual({ plaintext: '' });
    });

    it('refuses broken ciphertexts with the message of each check', async () => {
      const good = await encrypt('app');
      const sealed = Buffer.from(good.slice('vault:v1:'.length), 'base64');
      sealed[20]! ^= 1;
      const cases: Array<[string, string]> = [
        [`vault:v1:${sealed.toString('base64')}`, 'cipher: message authentication failed'],
        ['v1:abcd', 'invalid ciphertext: no prefix'],
        ['vault:v1', 'invalid ciphertext: wrong number of fields'],
        ['vault:vX:abcd', 'invalid ciphertext: version number could not be decoded'],
        ['vault:v9:abcd', 'invalid ciphertext: version is too new'],
        ['vault:v1:not base64', 'invalid ciphertext: could not decode base64'],
        ['vault:v1:AAAA', 'invalid ciphertext length'],
        ['vault:v1:AAAAAAAAAAAAAAAA', 'cipher: message authentication failed'],
      ];
      for (const [ciphertext, message] of cases) expect(await post('transit/decrypt/app', { ciphertext })).toMatchObject(refused(400, message));
      await post('transit/keys/other');
      expect(await post('transit/decrypt/other', { ciphertext: good })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      expect(await post('transit/decrypt/app', {})).toMatchObject(refused(400, 'missing ciphertext to decrypt'));
      expect(await post('transit/encrypt/app', {})).toMatchObject(refused(400, 'missing plaintext to encrypt'));
      expect(await post('transit/encrypt/app', { plaintext: 'not base64!' })).toMatchObject(refused(400, 'illegal base64 data at input byte 3'));
      expect(await post('transit/encrypt/app', { plaintext: SAMPLE, nonce: b64('twelve bytes') })).toMatchObject(refused(400, 'provided nonce not allowed for this key'));
    });

    it('rotates; rewrap moves a ciphertext to the newest version; min_decryption_version retires old versions and can bring them back', async () => {
      await post('transit/keys/rotating');
      const v1 = await encrypt('rotating');
      const rotated = await data(post('transit/keys/rotating/rotate'));
      expect(rotated).toMatchObject({ latest_version: 2, keys: { '1': expect.any(Number), '2': expect.any(Number) } });
      const rewrapped = await data(post('transit/rewrap/rotating', { ciphertext: v1 }));
      expect(rewrapped.key_version).toBe(2);
      expect(rewrapped.ciphertext).toMatch(/^vault:v2:/);
      expect((await data(post('transit/decrypt/rotating', { ciphertext: rewrapped.ciphertext }))).plaintext).toBe(SAMPLE);
      expect(await encrypt('rotating')).toMatch(/^vault:v2:/);
      expect(await encrypt('rotating', { key_version: 1 })).toMatch(/^vault:v1:/);

      const raised = await data(post('transit/keys/rotating/config', { min_decryption_version: 2 }));
      expect(raised).toMatchObject({ min_decryption_version: 2, latest_version: 2 });
      expect(Object.keys(raised.keys)).toEqual(['2']);
      expect(await post('transit/decrypt/rotating', { ciphertext: v1 })).toMatchObject(refused(400, TOO_OLD));
      expect(await post('transit/rewrap/rotating', { ciphertext: v1 })).toMatchObject(refused(400, TOO_OLD));
      expect(await post('transit/encrypt/rotating', { plaintext: SAMPLE, key_version: 1 })).toMatchObject(refused(400, 'no such key version'));

      await post('transit/keys/rotating/config', { min_decryption_version: 1 });
      expect((await data(post('transit/decrypt/rotating', { ciphertext: v1 }))).plaintext).toBe(SAMPLE);
    });

    it('checks min_encryption_version and min_decryption_version as the config endpoint does', async () => {
      await post('transit/keys/tuned');
      await post('transit/keys/tuned/rotate');
      await post('transit/keys/tuned/rotate');
      expect(await post('transit/keys/tuned/config', { min_decryption_version: 4 })).toMatchObject(refused(400, 'cannot set min decryption version of 4, latest key version is 3'));
      expect(await post('transit/keys/tuned/config', { min_encryption_version: 4 })).toMatchObject(refused(400, 'cannot set min encryption version of 4, latest key version is 3'));
      expect(await post('transit/keys/tuned/config', { min_decryption_version: -1 })).toMatchObject(refused(400, 'min decryption version cannot be negative'));
      expect(await post('transit/keys/tuned/config', { min_decryption_version: 3, min_encryption_version: 2 })).toMatchObject(
        refused(400, 'cannot set min encryption/decryption values; min encryption version of 2 must be greater than or equal to min decryption version of 3'),
      );
      expect(await data(call('GET', 'transit/keys/tuned'))).toMatchObject({ min_decryption_version: 1, min_encryption_version: 0 }); // unchanged
      const zero = await post('transit/keys/tuned/config', { min_decryption_version: 0 });
      expect(zero.body.warnings).toEqual(['since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1']);

      expect((await data(post('transit/keys/tuned/config', { min_encryption_version: 2 }))).min_encryption_version).toBe(2);
      expect(await post('transit/encrypt/tuned', { plaintext: SAMPLE, key_version: 1 })).toMatchObject(refused(400, 'requested version for encryption is less than the minimum encryption key version'));
      expect(await post('transit/encrypt/tuned', { plaintext: SAMPLE, key_version: 9 })).toMatchObject(refused(400, 'requested version for encryption is higher than the latest key version'));
      expect(await post('transit/encrypt/tuned', { plaintext: SAMPLE, key_version: -1 })).toMatchObject(refused(400, 'requested version for encryption is negative'));
    });

    it('binds associated_data on encrypt and decrypt; rewrap, which takes none, cannot open such a ciphertext', async () => {
      const ciphertext = await encrypt('app', { associated_data: b64('row 42') });
      expect((await data(post('transit/decrypt/app', { ciphertext, associated_data: b64('row 42') }))).plaintext).toBe(SAMPLE);
      expect(await post('transit/decrypt/app', { ciphertext, associated_data: b64('row 43') })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      expect(await post('transit/decrypt/app', { ciphertext })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      expect(await post('transit/rewrap/app', { ciphertext, associated_data: b64('row 42') })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      const bad = await post('transit/decrypt/app', { ciphertext, associated_data: '!!' });
      expect(bad).toMatchObject({ status: 500, body: { errors: ['1 error occurred:\n\t* unable to get associated_data/additional_data from factory[0]: illegal base64 data at input byte 0\n\n'] } });
    });

    it('serves the other AEAD types: aes128-gcm96 and chacha20-poly1305', async () => {
      for (const type of ['aes128-gcm96', 'chacha20-poly1305']) {
        await post(`transit/keys/${type}`, { type });
        const ciphertext = await encrypt(type);
        expect((await data(post(`transit/decrypt/${type}`, { ciphertext }))).plaintext).toBe(SAMPLE);
      }
      const sealed = Buffer.from((await encrypt('chacha20-poly1305')).slice('vault:v1:'.length), 'base64');
      sealed[sealed.length - 1]! ^= 1;
      expect(await post('transit/decrypt/chacha20-poly1305', { ciphertext: `vault:v1:${sealed.toString('base64')}` })).toMatchObject(
        refused(400, 'chacha20poly1305: message authentication failed'),
      );
    });
  });

  describe('derived and convergent keys', () => {
    it('derives a key per context: the context is required, and another context does not decrypt', async () => {
      const created = await data(post('transit/keys/tenant', { derived: true }));
      expect(created).toMatchObject({ derived: true, kdf: 'hkdf_sha256', convergent_encryption: false });
      expect(await post('transit/encrypt/tenant', { plaintext: SAMPLE })).toMatchObject(refused(400, MISSING_CONTEXT));
      const ciphertext = await encrypt('tenant', { context: b64('tenant-a') });
      expect((await data(post('transit/decrypt/tenant', { ciphertext, context: b64('tenant-a') }))).plaintext).toBe(SAMPLE);
      expect(await post('transit/decrypt/tenant', { ciphertext, context: b64('tenant-b') })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      expect(await post('transit/decrypt/tenant', { ciphertext })).toMatchObject(refused(400, MISSING_CONTEXT));
      expect(await post('transit/decrypt/tenant', { ciphertext, context: 'not base64!' })).toMatchObject(refused(400, 'illegal base64 data at input byte 3'));

      await post('transit/keys/tenant/rotate');
      const rewrapped = await data(post('transit/rewrap/tenant', { ciphertext, context: b64('tenant-a') }));
      expect(rewrapped.key_version).toBe(2);
      expect((await data(post('transit/decrypt/tenant', { ciphertext: rewrapped.ciphertext, context: b64('tenant-a') }))).plaintext).toBe(SAMPLE);
      expect(await post('transit/rewrap/tenant', { ciphertext, context: b64('tenant-b') })).toMatchObject(refused(400, 'cipher: message authentication failed'));
    });

    it('ignores a context on a key that is not derived, as Vault does', async () => {
      const ciphertext = await encrypt('app', { context: b64('a') });
      expect((await data(post('transit/decrypt/app', { ciphertext, context: b64('b') }))).plaintext).toBe(SAMPLE);
    });

    it('encrypts convergently: the same plaintext and context give the same ciphertext, and no nonce is taken', async () => {
      const created = await data(post('transit/keys/convergent', { derived: true, convergent_encryption: true }));
      expect(created).toMatchObject({ convergent_encryption: true, convergent_encryption_version: -1 });
      const a = await encrypt('convergent', { context: b64('ctx') });
      expect(await encrypt('convergent', { context: b64('ctx') })).toBe(a);
      expect(await encrypt('convergent', { context: b64('other') })).not.toBe(a);
      expect((await data(post('transit/decrypt/convergent', { ciphertext: a, context: b64('ctx') }))).plaintext).toBe(SAMPLE);
      expect(await post('transit/encrypt/convergent', { plaintext: SAMPLE, context: b64('ctx'), nonce: b64('twelve bytes') })).toMatchObject(refused(400, 'provided nonce not allowed for this key'));
    });
  });

  describe('datakey', () => {
    beforeAll(async () => {
      await post('transit/keys/dk');
      await post('transit/keys/dk-derived', { derived: true });
    });

    it('returns a new key in plaintext and wrapped, or wrapped only', async () => {
      const answer = await data(post('transit/datakey/plaintext/dk'));
      expect(Object.keys(answer)).toEqual(['ciphertext', 'key_version', 'plaintext']);
      expect(Buffer.from(answer.plaintext, 'base64')).toHaveLength(32);
      expect(answer).toMatchObject({ key_version: 1, ciphertext: expect.stringMatching(/^vault:v1:/) });
      expect((await data(post('transit/decrypt/dk', { ciphertext: answer.ciphertext }))).plaintext).toBe(answer.plaintext);
      const wrapped = await data(post('transit/datakey/wrapped/dk', { bits: 512 }));
      expect(Object.keys(wrapped)).toEqual(['ciphertext', 'key_version']);
      expect(Buffer.from((await data(post('transit/decrypt/dk', { ciphertext: wrapped.ciphertext }))).plaintext, 'base64')).toHaveLength(64);
      expect(Buffer.from((await data(post('transit/datakey/plaintext/dk', { bits: 128 }))).plaintext, 'base64')).toHaveLength(16);
    });

    it('binds the context of a derived key', async () => {
      const answer = await data(post('transit/datakey/plaintext/dk-derived', { context: b64('[["table","notes"]]') }));
      expect((await data(post('transit/decrypt/dk-derived', { ciphertext: answer.ciphertext, context: b64('[["table","notes"]]') }))).plaintext).toBe(answer.plaintext);
      expect(await post('transit/decrypt/dk-derived', { ciphertext: answer.ciphertext, context: b64('[["table","users"]]') })).toMatchObject(refused(400, 'cipher: message authentication failed'));
      expect(await post('transit/datakey/plaintext/dk-derived')).toMatchObject(refused(400, MISSING_CONTEXT));
    });

    it("refuses what the document rules out, with Vault's messages", async () => {
      expect(await post('transit/datakey/both/dk')).toMatchObject(refused(400, "Invalid path, must be 'plaintext' or 'wrapped'"));
      expect(await post('transit/datakey/plaintext/dk', { bits: 100 })).toMatchObject(refused(400, 'invalid bit length'));
      // The document's sample context, "Ab3==", is not valid base64.
      expect(await post('transit/datakey/plaintext/dk', { context: 'Ab3==' })).toMatchObject(refused(400, 'failed to base64-decode context'));
      expect(await post('transit/datakey/plaintext/dk', { nonce: '***' })).toMatchObject(refused(400, 'failed to base64-decode nonce'));
      expect(await post('transit/datakey/plaintext/dk', { nonce: b64('twelve bytes') })).toMatchObject(refused(400, 'nonce provided when not allowed'));
    });
  });

  describe('batch_input', () => {
    it('encrypts and decrypts in batches, keeping order and references, and flags failed items', async () => {
      await post('transit/keys/batch');
      const encrypted = await data(post('transit/encrypt/batch', { batch_input: [{ plaintext: SAMPLE, reference: 'a' }, { plaintext: b64('two'), reference: 'b' }] }));
      expect(encrypted.batch_results).toEqual([
        { ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: 'a' },
        { ciphertext: expect.stringMatching(/^vault:v1:/), key_version: 1, reference: 'b' },
      ]);
      const [first, second] = encrypted.batch_results.map((r: { ciphertext: string }) => r.ciphertext);
      const decrypted = await post('transit/decrypt/batch', { batch_input: [{ ciphertext: second }, { ciphertext: 'vault:v1:AAAAAAAAAAAAAAAAAAAAAAAA', reference: 'x' }, { ciphertext: first }] });
      expect(decrypted.status).toBe(400);
      expect(decrypted.body.data.batch_results).toEqual([
        { plaintext: b64('two'), reference: '' },
        { plaintext: '', error: 'cipher: message authentication failed', reference: 'x' },
        { plaintext: SAMPLE, reference: '' },
      ]);
      const partial = await post('transit/decrypt/batch', { partial_failure_response_code: 207, batch_input: [{ ciphertext: first }, { ciphertext: 'nope' }] });
      expect(partial.status).toBe(207);
      const rewrapped = await data(post('transit/rewrap/batch', { batch_input: [{ ciphertext: first }, { ciphertext: 'nope' }] }));
      expect(rewrapped.batch_results[1]).toEqual({ error: 'invalid ciphertext: no prefix', reference: '' });
    });

    it('refuses a batch that mixes items with and without context, or is not a list of maps', async () => {
      expect(await post('transit/encrypt/batch', { batch_input: [{ plaintext: SAMPLE, context: b64('a') }, { plaintext: SAMPLE }] })).toMatchObject(
        refused(400, 'context should be set either in all the request blocks or in none'),
      );
      expect(await post('transit/encrypt/batch', { batch_input: [] })).toMatchObject(refused(400, 'missing batch input to process'));
      expect(await post('transit/encrypt/batch', { batch_input: [{ plaintext: 1 }, {}] })).toMatchObject(
        refused(500, "1 error occurred:\n\t* failed to parse batch input: 2 error(s) decoding:\n\n* '[0].plaintext' expected type 'string', got unconvertible type 'json.Number'\n* '[1].plaintext' missing plaintext to encrypt\n\n"),
      );
    });
  });

  describe('upsert and policies', () => {
    it('creates a missing key on encrypt when the caller may create, unless config/keys disables upsert', async () => {
      expect(await data(call('GET', 'transit/config/keys'))).toEqual({ disable_upsert: false });
      const ciphertext = await encrypt('upserted-derived', { context: b64('c') });
      expect(await data(call('GET', 'transit/keys/upserted-derived'))).toMatchObject({ derived: true, type: 'aes256-gcm96', latest_version: 1 });
      expect((await data(post('transit/decrypt/upserted-derived', { ciphertext, context: b64('c') }))).plaintext).toBe(SAMPLE);
      expect(await post('transit/encrypt/upserted-ec', { plaintext: SAMPLE, type: 'ecdsa-p256' })).toMatchObject(refused(400, 'key type ecdsa-p256 not supported for this operation'));

      expect(await data(post('transit/config/keys', { disable_upsert: true }))).toEqual({ disable_upsert: true });
      expect(await post('transit/encrypt/never-made', { plaintext: SAMPLE })).toMatchObject(refused(400, 'encryption key not found'));
      await post('transit/config/keys', { disable_upsert: false });
    });

    it('checks every transit path against the token policies, with create for an encrypt that would make the key', async () => {
      await post('transit/keys/guarded');
      await call('PUT', 'sys/policies/acl/transit-app', {
        policy: `path "transit/encrypt/guarded" { capabilities = ["update"] }
                 path "transit/decrypt/guarded" { capabilities = ["update"] }
                 path "transit/encrypt/new-*" { capabilities = ["update"] }`,
      });
      const appToken = (await post('auth/token/create', { policies: ['transit-app'] })).body.auth.client_token as string;
      const ciphertext = (await data(post('transit/encrypt/guarded', { plaintext: SAMPLE }, appToken))).ciphertext;
      expect((await data(post('transit/decrypt/guarded', { ciphertext }, appToken))).plaintext).toBe(SAMPLE);
      const denied = { status: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } };
      expect(await post('transit/rewrap/guarded', { ciphertext }, appToken)).toMatchObject(denied);
      expect(await post('transit/datakey/plaintext/guarded', {}, appToken)).toMatchObject(denied);
      expect(await post('transit/keys/guarded/rotate', {}, appToken)).toMatchObject(denied);
      expect(await post('transit/encrypt/new-key', { plaintext: SAMPLE }, appToken)).toMatchObject(denied); // needs create
      expect((await call('GET', 'transit/keys/new-key')).status).toBe(404);
    });

    it('answers 503 while sealed, like every other engine', async () => {
      server.seal();
      try {
        expect(await post('transit/encrypt/app', { plaintext: SAMPLE })).toMatchObject(refused(503, 'Vault is sealed'));
      } finally {
        server.unseal();
      }
    });
  });
});
