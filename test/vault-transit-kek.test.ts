import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createEnvelope, KeywardError, type KekProvider, type WrappedDataKey } from '@keyward/core';
import { startVaultDevServer, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultTransitKek, type VaultConnection, type VaultTransitKek } from '@keyward/vault';
import { canary, expectNoCanary, rejected } from '@keyward/test-support';
import { dataKeySpellings } from '@keyward/test-support/envelope';
import { startRecordingProxy, vaultAdmin, type RecordingProxy, type VaultAdmin } from '@keyward/test-support/vault';

describe('vaultTransitKek against the Vault dev server', () => {
  const rootToken = canary('root-token');
  const context = { table: 'notes', id: '42' };
  let server: VaultDevServer;
  let admin: VaultAdmin;
  let proxy: RecordingProxy;
  let vault: VaultConnection;
  const open: { close(): Promise<void> }[] = [];
  const kekFor = (key: string, options: { currentVersionMaxAge?: string | number; mount?: string; connection?: VaultConnection } = {}): VaultTransitKek => {
    const kek = vaultTransitKek({ connection: vault, key, ...options });
    open.push(kek);
    return kek;
  };
  const newKey = async (name: string, body: Record<string, unknown> = { derived: true }) => void (await admin.call('POST', `transit/keys/${name}`, body));

  beforeAll(async () => {
    // As an operator sets it up: `vault secrets enable transit`, then a derived key per test.
    server = await startVaultDevServer({ rootToken });
    admin = vaultAdmin(server.url, server.rootToken);
    await admin.call('POST', 'sys/mounts/transit', { type: 'transit' });
    proxy = await startRecordingProxy(server.url);
    vault = createVaultConnection({ endpoint: proxy.url, auth: tokenAuth({ token: rootToken }), timeout: '2s' });
  });
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close();
    server.unseal();
  });
  afterAll(async () => {
    await vault?.close();
    await proxy?.close();
    await server?.close();
  });

  it('wraps a 256-bit data key with transit/datakey and unwraps it with transit/decrypt, the context bound as the derivation context', async () => {
    await newKey('app');
    const kek = kekFor('app');
    expect([kek.provider, kek.keyId]).toEqual(['vault-transit', 'app']);
    proxy.calls.length = 0;
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    expect(plaintext).toHaveLength(32);
    expect(wrapped).toMatchObject({ provider: 'vault-transit', keyId: 'app', keyVersion: '1' });
    const ciphertext = Buffer.from(wrapped.wrapped).toString('utf8');
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect(proxy.count('GET', '/v1/transit/keys/app', 200)).toBe(1); // the derivation check, once
    expect(proxy.count('POST', '/v1/transit/datakey/plaintext/app', 200)).toBe(1);

    expect((await kek.unwrapDataKey(wrapped, { context: { id: '42', table: 'notes' } })).equals(plaintext)).toBe(true);
    expect(proxy.count('POST', '/v1/transit/decrypt/app', 200)).toBe(1);
    expect(proxy.count('GET', '/v1/transit/keys/app')).toBe(1);

    // What an operator decrypting by hand passes as context: the pairs sorted by key, JSON, base64.
    const byHand = await admin.call('POST', 'transit/decrypt/app', { ciphertext, context: Buffer.from('[["id","42"],["table","notes"]]').toString('base64') });
    expect(Buffer.from(byHand.data.plaintext, 'base64').equals(plaintext)).toBe(true);
    expect(await kek.currentVersion()).toBe('1');
  });

  it('after a rotation, rewrap gives the newest version and the same data key; its answer moves currentVersion at once', async () => {
    await newKey('rotating');
    const kek = kekFor('rotating', { currentVersionMaxAge: '1h' });
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    expect(await kek.currentVersion()).toBe('1');
    await admin.call('POST', 'transit/keys/rotating/rotate');
    expect(await kek.currentVersion()).toBe('1'); // trusted for currentVersionMaxAge
    proxy.calls.length = 0;
    const rewrapped = await kek.rewrapDataKey(wrapped, { context });
    expect(rewrapped).toMatchObject({ provider: 'vault-transit', keyId: 'rotating', keyVersion: '2' });
    expect(Buffer.from(rewrapped.wrapped).toString('utf8')).toMatch(/^vault:v2:/);
    expect(proxy.count('POST', '/v1/transit/rewrap/rotating', 200)).toBe(1);
    expect(await kek.currentVersion()).toBe('2');
    expect(proxy.count('GET', '/v1/transit/keys/rotating')).toBe(0);
    expect((await kek.unwrapDataKey(rewrapped, { context })).equals(plaintext)).toBe(true);
    expect((await kek.generateDataKey({ context })).wrapped.keyVersion).toBe('2');

    const fresh = kekFor('rotating', { currentVersionMaxAge: 0 });
    await admin.call('POST', 'transit/keys/rotating/rotate');
    expect(await fresh.currentVersion()).toBe('3');
  });

  it('fails KEK_DISABLED for a version below min_decryption_version, and works again when it is lowered', async () => {
    await newKey('retiring');
    const kek = kekFor('retiring');
    const old = await kek.generateDataKey({ context });
    await admin.call('POST', 'transit/keys/retiring/rotate');
    const current = await kek.generateDataKey({ context });
    await admin.call('POST', 'transit/keys/retiring/config', { min_decryption_version: 2 });
    for (const call of [kek.unwrapDataKey(old.wrapped, { context }), kek.rewrapDataKey(old.wrapped, { context })]) {
      const err = await rejected(call);
      expect(err).toMatchObject({ code: 'KEK_DISABLED', retryable: false });
      expect(err.message).toBe(`transit key "retiring" (transit/keys/retiring): the data key's version is below the key's min_decryption_version`);
    }
    expect((await kek.unwrapDataKey(current.wrapped, { context })).equals(current.plaintext)).toBe(true);
    await admin.call('POST', 'transit/keys/retiring/config', { min_decryption_version: 1 });
    expect((await kek.unwrapDataKey(old.wrapped, { context })).equals(old.plaintext)).toBe(true);
  });

  it('refuses a wrong context, a tampered or foreign wrapped key and an unknown version with DECRYPT_FAILED, one message, no cause', async () => {
    await newKey('strict');
    await newKey('elsewhere');
    const kek = kekFor('strict');
    const { wrapped } = await kek.generateDataKey({ context });
    const foreign = (await kekFor('elsewhere').generateDataKey({ context })).wrapped;
    const text = Buffer.from(wrapped.wrapped).toString('utf8');
    const at = text.length - 6;
    const tampered = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    const bytes = (s: string) => Buffer.from(s, 'utf8');
    const refused: Array<[string, WrappedDataKey, Record<string, string>]> = [
      ['wrong context', wrapped, { table: 'notes', id: '43' }],
      ['no context', wrapped, {}],
      ['tampered ciphertext', { ...wrapped, wrapped: bytes(tampered) }, context],
      ['another key under this name', { ...foreign, keyId: 'strict' }, context],
      ['another key', foreign, context],
      ['unknown version', { ...wrapped, keyVersion: '99', wrapped: bytes(text.replace('vault:v1:', 'vault:v99:')) }, context],
      ['version label changed', { ...wrapped, keyVersion: '2' }, context],
      ['not a transit ciphertext', { ...wrapped, wrapped: bytes('vault:v1:***') }, context],
      ['other provider', { ...wrapped, provider: 'aws-kms' }, context],
    ];
    const messages = new Set<string>();
    for (const [what, candidate, ctx] of refused) {
      for (const call of [kek.unwrapDataKey(candidate, { context: ctx }), kek.rewrapDataKey(candidate, { context: ctx })]) {
        const err = await rejected(call);
        expect({ what, code: err.code, cause: err.cause }).toEqual({ what, code: 'DECRYPT_FAILED', cause: undefined });
        messages.add(err.message);
      }
    }
    expect([...messages]).toEqual(['the data key could not be unwrapped']);
  });

  it('fails KEK_UNAVAILABLE (retryable) while Vault is sealed or drops the connection, and works once it is back', async () => {
    await newKey('outage');
    const kek = kekFor('outage', { currentVersionMaxAge: 0 });
    const { plaintext, wrapped } = await kek.generateDataKey({ context });
    server.seal();
    for (const call of [kek.generateDataKey({ context }), kek.unwrapDataKey(wrapped, { context }), kek.rewrapDataKey(wrapped, { context }), kek.currentVersion()]) {
      const err = await rejected(call);
      expect(err).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: true });
      expect(err.message).toContain('Vault is sealed (503)');
    }
    server.unseal();
    server.dropConnections(1);
    expect(await rejected(kek.unwrapDataKey(wrapped, { context }))).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: true });
    expect((await kek.unwrapDataKey(wrapped, { context })).equals(plaintext)).toBe(true);
    expect((await rejected(kek.unwrapDataKey(wrapped, { context, signal: AbortSignal.abort() }))).code).toBe('KEK_UNAVAILABLE');
  });

  it('refuses what is misconfigured: no such key or engine, a key that is not derived, a token without the grant', async () => {
    expect(await rejected(kekFor('missing').generateDataKey({ context }))).toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'transit key "missing" (transit/keys/missing): Vault has no such transit key or engine (404)',
    });
    expect((await rejected(kekFor('missing', { mount: 'nowhere' }).currentVersion())).code).toBe('CONFIG_INVALID');
    await newKey('plain', {});
    const plain = await rejected(kekFor('plain').generateDataKey({ context }));
    expect(plain).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('is not a derived key, so Vault would ignore the encryption context') });

    await newKey('guarded');
    await admin.putPolicy('read-only-transit', 'path "transit/keys/guarded" { capabilities = ["read"] }');
    const token = await admin.createToken({ policies: ['read-only-transit'] });
    const limited = createVaultConnection({ endpoint: server.url, auth: tokenAuth({ token }) });
    open.push(limited);
    const denied = await rejected(kekFor('guarded', { connection: limited }).generateDataKey({ context }));
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(`${denied.message} ${inspect(denied, { depth: 5 })}`).not.toContain(token);

    // A key deleted after use: unwrap says the key is gone, not that the data key is bad.
    const kek = kekFor('doomed');
    await newKey('doomed');
    const { wrapped } = await kek.generateDataKey({ context });
    await admin.call('POST', 'transit/keys/doomed/config', { deletion_allowed: true });
    await admin.call('DELETE', 'transit/keys/doomed');
    expect(await rejected(kek.unwrapDataKey(wrapped, { context }))).toMatchObject({ code: 'CONFIG_INVALID', message: 'transit key "doomed" (transit/keys/doomed): Vault has no such key' });
  });

  it('refuses bad options before any call', () => {
    for (const key of ['', 'a/b', '../sys', ' app']) {
      expect(() => vaultTransitKek({ connection: vault, key })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
    expect(() => vaultTransitKek({ connection: vault, key: 'app', currentVersionMaxAge: 'soon' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => vaultTransitKek({ connection: vault, key: 'app', mount: 'a/../sys' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('closes the connection it opened, and leaves a shared one open', async () => {
    await newKey('owned');
    const own = vaultTransitKek({ endpoint: server.url, auth: tokenAuth({ token: rootToken }), key: 'owned' });
    const { wrapped } = await own.generateDataKey({ context });
    await own.close();
    expect(await rejected(own.unwrapDataKey(wrapped, { context }))).toMatchObject({ code: 'KEK_UNAVAILABLE', retryable: false });
    const shared = vaultTransitKek({ connection: vault, key: 'owned' });
    await shared.close();
    expect(await shared.unwrapDataKey(wrapped, { context })).toHaveLength(32);
  });

  it('never puts the plaintext, a data key or the token in an error, its JSON or its inspection', async () => {
    await newKey('canary');
    const kek = kekFor('canary');
    const keys: Buffer[] = [];
    const spied: KekProvider = {
      ...kek,
      generateDataKey: async (o) => {
        const generated = await kek.generateDataKey(o);
        keys.push(Buffer.from(generated.plaintext));
        return generated;
      },
      unwrapDataKey: (w, o) => kek.unwrapDataKey(w, o),
      rewrapDataKey: (w, o) => kek.rewrapDataKey(w, o),
      currentVersion: (o) => kek.currentVersion(o),
    };
    const envelope = createEnvelope({ kek: spied, retries: 0 });
    const secret = canary('plaintext');
    const sealed = await envelope.encrypt(secret, { context });
    const errors: unknown[] = [];
    errors.push(await envelope.decrypt(sealed, { context: { table: 'notes', id: '0' } }).catch((e: unknown) => e));
    await admin.call('POST', 'transit/keys/canary/rotate');
    await admin.call('POST', 'transit/keys/canary/config', { min_decryption_version: 2 });
    errors.push(await envelope.decrypt(sealed, { context }).catch((e: unknown) => e));
    server.seal();
    errors.push(await envelope.decrypt(sealed, { context }).catch((e: unknown) => e));
    errors.push(await envelope.encrypt(secret, { context }).catch((e: unknown) => e));
    server.unseal();
    expect(errors.map((e) => (e as KeywardError).code)).toEqual(['DECRYPT_FAILED', 'KEK_DISABLED', 'KEK_UNAVAILABLE', 'KEK_UNAVAILABLE']);
    const texts = Object.fromEntries(errors.map((e, i) => [`error ${i}`, `${String(e)} ${JSON.stringify(e)} ${inspect(e, { depth: 8 })} ${(e as Error).stack}`]));
    expect(keys).toHaveLength(1);
    expectNoCanary({ ...texts, kek: inspect(kek, { depth: 5 }), sealed }, secret, rootToken, ...keys.flatMap(dataKeySpellings));
  });
});
