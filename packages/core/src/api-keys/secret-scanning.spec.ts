import { describe, expect, it } from '@jest/globals';
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAfterEach } from '@keyward/test-support';
import type { AuditEntry } from '../audit/audit-record.js';
import { generateApiKey } from './api-key-format.js';
import { fileKeyRing } from './file-key-ring.js';
import { keyRingAdmin } from './key-ring-admin.js';
import { githubSecretScanningKeys, secretScanningHandler, type SecretScanningKeys } from './secret-scanning.js';

const PEPPER = 'pepper-0123456789abcdef0123456789';

// GitHub's own example (docs: "Secret scanning partner program", the validation samples): this
// key, this payload and this signature must verify.
const GITHUB_SAMPLE = {
  keyIdentifier: '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a',
  publicKey: ['-----BEGIN PUBLIC KEY-----', 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq', 'kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==', '-----END PUBLIC KEY-----'].join('\n'),
  payload: '[{"token":"some_token","type":"some_type","url":"some_url"}]',
  signature: 'MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=',
};

const keysOf = (entries: Record<string, KeyObject>): SecretScanningKeys => ({ key: async (id) => entries[id] });
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('secretScanningHandler', () => {
  const track = closeAfterEach();

  async function ringWithKeys() {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-secret-scanning-'));
    track({ close: () => rm(dir, { recursive: true, force: true }) });
    const admin = keyRingAdmin({ backend: fileKeyRing(join(dir, 'ring.json')), pepper: PEPPER, env: 'live' });
    const leaked = await admin.create({ client: 'partner', scopes: ['orders:read'] });
    const safe = await admin.create({ client: 'billing', scopes: ['orders:read'] });
    return { admin, leaked, safe };
  }

  function signer() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyIdentifier = 'local-test-key';
    const report = (matches: object[]) => {
      const body = Buffer.from(JSON.stringify(matches));
      return { body, keyIdentifier, signature: sign('sha256', body, { key: privateKey, dsaEncoding: 'der' }).toString('base64') };
    };
    return { keys: keysOf({ [keyIdentifier]: publicKey }), report };
  }

  it("verifies GitHub's documented sample and labels a token that is no Keyward key false_positive, by its hash only", async () => {
    let listed = 0;
    const handler = secretScanningHandler({
      admin: { list: async () => (listed++, { revision: '1', keys: [] }), revoke: async () => Promise.reject(new Error('never')) },
      pepper: PEPPER,
      keys: keysOf({ [GITHUB_SAMPLE.keyIdentifier]: createPublicKey(GITHUB_SAMPLE.publicKey) }),
    });
    const answer = await handler.handle({ body: Buffer.from(GITHUB_SAMPLE.payload), keyIdentifier: GITHUB_SAMPLE.keyIdentifier, signature: GITHUB_SAMPLE.signature });
    expect(answer).toEqual({ status: 200, body: [{ token_hash: sha256('some_token'), token_type: 'some_type', label: 'false_positive' }] });
    expect(listed).toBe(0); // no token of Keyward's shape: the ring was not even read
    // One byte changed in the payload: the same signature no longer holds.
    const tampered = await handler.handle({ body: Buffer.from(GITHUB_SAMPLE.payload.replace('some_url', 'some_urk')), keyIdentifier: GITHUB_SAMPLE.keyIdentifier, signature: GITHUB_SAMPLE.signature });
    expect(tampered).toMatchObject({ status: 401, body: { error: { code: 'SIGNATURE_INVALID' } } });
  });

  it('revokes a reported key of the ring, labels it true_positive, records it; other tokens are false_positive', async () => {
    const { admin, leaked, safe } = await ringWithKeys();
    const { keys, report } = signer();
    const records: AuditEntry[] = [];
    const handler = secretScanningHandler({ admin, pepper: PEPPER, keys, audit: { record: async (entry) => void records.push(entry) } });
    const forged = `${leaked.key.slice(0, -10)}${'A'.repeat(10)}`; // the leaked key's id, another secret
    const stranger = generateApiKey({ env: 'live' }).key; // a well-formed key of no ring
    const url = 'https://github.com/octo/app/blob/abc123/.env?plain=1';
    const answer = await handler.handle(report([
      { token: leaked.key, type: 'keyward_api_key', url, source: 'content' },
      { token: forged, type: 'keyward_api_key', url, source: 'content' },
      { token: stranger, type: 'keyward_api_key', url, source: 'content' },
    ]));
    expect(answer).toEqual({
      status: 200,
      body: [
        { token_hash: sha256(leaked.key), token_type: 'keyward_api_key', label: 'true_positive' },
        { token_hash: sha256(forged), token_type: 'keyward_api_key', label: 'false_positive' },
        { token_hash: sha256(stranger), token_type: 'keyward_api_key', label: 'false_positive' },
      ],
    });
    const ring = await admin.list();
    expect(ring.keys.find((k) => k.keyId === leaked.keyId)?.status).toBe('revoked');
    expect(ring.keys.find((k) => k.keyId === safe.keyId)?.status).toBe('current');
    expect(records).toEqual([
      {
        event: 'api-key.leaked',
        actor: { type: 'service', id: 'github-secret-scanning' },
        outcome: 'success',
        details: { keyId: leaked.keyId, client: 'partner', alreadyRevoked: false, foundAt: 'https://github.com/octo/app/blob/abc123/.env', source: 'content' },
      },
    ]);
    // Never a key in the answer or the record.
    for (const text of [JSON.stringify(answer), JSON.stringify(records)]) for (const key of [leaked.key, forged, stranger]) expect(text).not.toContain(key);
  });

  it('refuses a bad signature, an unknown signing key, a replay and a malformed body, changing nothing', async () => {
    const { admin, leaked } = await ringWithKeys();
    const { keys, report } = signer();
    const records: AuditEntry[] = [];
    const handler = secretScanningHandler({ admin, pepper: PEPPER, keys, audit: { record: async (entry) => void records.push(entry) } });
    const good = report([{ token: leaked.key, type: 'keyward_api_key' }]);
    const other = signer().report([{ token: leaked.key, type: 'keyward_api_key' }]); // signed by a key GitHub does not have
    const before = await admin.list();

    expect(await handler.handle({ ...good, signature: other.signature })).toMatchObject({ status: 401, body: { error: { code: 'SIGNATURE_INVALID' } } });
    expect(await handler.handle({ ...good, keyIdentifier: 'not-githubs' })).toMatchObject({ status: 401, body: { error: { code: 'SIGNATURE_INVALID' } } });
    expect(await handler.handle({ ...good, signature: undefined })).toMatchObject({ status: 401, body: { error: { code: 'SIGNATURE_MISSING' } } });
    expect(await handler.handle({ ...good, signature: 'not base64 at all!' })).toMatchObject({ status: 401 });
    const notArray = signer();
    const malformed = secretScanningHandler({ admin, pepper: PEPPER, keys: notArray.keys });
    expect(await malformed.handle(notArray.report({ token: leaked.key } as unknown as object[]))).toMatchObject({ status: 400, body: { error: { code: 'REPORT_MALFORMED' } } });
    expect(await admin.list()).toEqual(before);
    expect(records).toEqual([]);

    expect((await handler.handle(good)).status).toBe(200);
    const afterFirst = await admin.list();
    expect(await handler.handle(good)).toMatchObject({ status: 409, body: { error: { code: 'REPORT_REPLAYED' } } });
    expect(await admin.list()).toEqual(afterFirst);
    expect(records).toHaveLength(1);
  });

  it("fetches GitHub's published keys over HTTP, caches them, and fetches again for an identifier it does not know (rate-limited)", async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let published = [{ key_identifier: 'k1', key: publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }];
    let requests = 0;
    const meta = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: published }));
    });
    meta.listen(0, '127.0.0.1');
    await once(meta, 'listening');
    track({ close: () => new Promise<void>((resolve) => meta.close(() => resolve())) });
    const keys = githubSecretScanningKeys({ url: `http://127.0.0.1:${(meta.address() as AddressInfo).port}/meta/public_keys/secret_scanning`, refetchAtMost: '0ms' });
    expect(await keys.key('k1')).toBeDefined();
    expect(await keys.key('k1')).toBeDefined();
    expect(requests).toBe(1);
    // GitHub rotates its key: a report signed by the new one fetches the list again.
    const next = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    published = [...published, { key_identifier: 'k2', key: next.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }];
    expect(await keys.key('k2')).toBeDefined();
    expect(requests).toBe(2);
    const limited = githubSecretScanningKeys({ url: `http://127.0.0.1:${(meta.address() as AddressInfo).port}/`, refetchAtMost: '1h' });
    await limited.key('k1');
    await limited.key('random-1');
    await limited.key('random-2');
    expect(requests).toBe(3); // unknown identifiers do not make it fetch again within refetchAtMost
  });
});
