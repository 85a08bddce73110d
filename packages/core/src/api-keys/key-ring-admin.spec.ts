import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { canary } from '@keyward/test-support';
import { createApiKeyVerifier } from './api-key-verifier.js';
import { fileKeyRing } from './file-key-ring.js';
import { keyRingAdmin } from './key-ring-admin.js';
import type { KeyRingBackend, KeyRingChangeNotice } from './key-ring-backend.js';
import { emptyKeyRing } from './key-ring.js';

const PEPPER = canary('pepper');

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-ring-'));
  path = join(dir, 'api-keys.json');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('keyRingAdmin over fileKeyRing', () => {
  const verifierOf = (backend: KeyRingBackend) => async () => {
    const { ring } = await backend.read();
    return createApiKeyVerifier({ ring: () => ring, pepper: () => PEPPER });
  };

  it('creates, rotates with grace and revokes, each as a new revision; the file holds hashes only, mode 0600', async () => {
    const backend = fileKeyRing(path);
    const admin = keyRingAdmin({ backend, pepper: PEPPER, env: 'live' });
    expect(await admin.list()).toEqual({ revision: undefined, keys: [] });

    const first = await admin.create({ client: 'partner', scopes: ['reports:read'], label: 'Partner Inc.' });
    const rotated = await admin.rotate({ client: 'partner', grace: '24h' });
    expect(rotated.revision).not.toBe(first.revision);
    // The entries as written: no second read needed to tell the operator what happened.
    expect(rotated.entry).toMatchObject({ keyId: rotated.keyId, client: 'partner', status: 'current', scopes: ['reports:read'] });
    expect(rotated.previous).toMatchObject({ keyId: first.keyId, status: 'previous', expiresAt: expect.any(String) });
    const verify = await verifierOf(backend)();
    expect(verify.verify(rotated.key).status).toBe('current');
    expect(verify.verify(first.key)).toMatchObject({ status: 'previous', deprecated: { sunset: expect.any(Date) } });

    const revoked = await admin.revoke(first.keyId);
    expect(revoked.entry).toMatchObject({ keyId: first.keyId, status: 'revoked', client: 'partner' });
    expect(() => createApiKeyVerifier({ ring: () => emptyKeyRing(), pepper: () => PEPPER }).verify(first.key)).toThrow(KeywardError);
    await expect((async () => (await verifierOf(backend)()).verify(first.key))()).rejects.toMatchObject({ code: 'API_KEY_REVOKED' });

    expect((await admin.prune({ retention: '0s' })).pruned).toEqual([first.keyId]);

    const text = await readFile(path, 'utf8');
    for (const key of [first.key, rotated.key]) expect(text).not.toContain(key.slice(-49));
    expect(text).not.toContain(PEPPER);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // The issued key is not enumerable: logging the result does not print it.
    expect(JSON.stringify(rotated)).not.toContain(rotated.key);
  });

  it('lands every one of 12 concurrent changes from separate admins (check-and-set, then re-apply on a fresh read)', async () => {
    const clients = Array.from({ length: 6 }, (_, i) => `client-${i}`);
    await Promise.all(clients.map((client) => keyRingAdmin({ backend: fileKeyRing(path), pepper: PEPPER, env: 'live', attempts: 20 }).create({ client, scopes: [] })));
    const rotations = await Promise.all(
      [...clients, 'client-0', 'client-0', 'client-1', 'client-2', 'client-3', 'client-3'].map((client) =>
        keyRingAdmin({ backend: fileKeyRing(path), pepper: PEPPER, env: 'live', attempts: 20 }).rotate({ client, grace: '1h' }),
      ),
    );
    const { keys } = await keyRingAdmin({ backend: fileKeyRing(path), pepper: PEPPER, env: 'live' }).list();
    expect(keys).toHaveLength(6 + 12);
    const verifier = createApiKeyVerifier({ ring: () => ({ version: 1, keys }), pepper: () => PEPPER });
    // Every key handed out still works: none was lost to a concurrent write.
    for (const { key } of rotations) expect(['current', 'previous']).toContain(verifier.verify(key).status);
    for (const client of clients) expect(keys.filter((k) => k.client === client && k.status === 'current')).toHaveLength(1);
  });

  it('re-reads and re-applies when another writer lands in between, and gives up after `attempts` with KEY_RING_CONFLICT', async () => {
    const file = fileKeyRing(path);
    await keyRingAdmin({ backend: file, pepper: PEPPER, env: 'live' }).create({ client: 'a', scopes: [] });
    let interleave = 1;
    const racing: KeyRingBackend = {
      location: file.location,
      read: () => file.read(),
      async write(ring, expected) {
        if (interleave-- > 0) await keyRingAdmin({ backend: file, pepper: PEPPER, env: 'live' }).create({ client: 'b', scopes: [] });
        return file.write(ring, expected);
      },
    };
    await keyRingAdmin({ backend: racing, pepper: PEPPER, env: 'live' }).rotate({ client: 'a', grace: '1h' });
    expect((await file.read()).ring.keys.map((k) => `${k.client}:${k.status}`).sort()).toEqual(['a:current', 'a:previous', 'b:current']);

    interleave = Infinity;
    let n = 0;
    const alwaysBeaten: KeyRingBackend = { ...racing, write: async (ring, expected) => file.write(ring, `${expected}-stale-${n++}`) };
    await expect(keyRingAdmin({ backend: alwaysBeaten, pepper: PEPPER, env: 'live', attempts: 3 }).revoke((await file.read()).ring.keys[0]!.keyId)).rejects.toMatchObject({
      code: 'KEY_RING_CONFLICT',
      message: expect.stringContaining('gave up after 3 attempts'),
    });
    expect(n).toBe(3);
  });

  it('publishes a notice after each write (no key, no hash), and reports a failed publish without undoing the write', async () => {
    const notices: KeyRingChangeNotice[] = [];
    const admin = keyRingAdmin({ backend: fileKeyRing(path), pepper: PEPPER, env: 'live', publish: (n) => void notices.push(n), now: () => Date.parse('2026-03-01T00:00:00Z') });
    const created = await admin.create({ client: 'partner', scopes: ['x'] });
    expect(created.published).toBe(true);
    const revoked = await admin.revoke(created.keyId);
    expect(notices).toEqual([
      { action: 'create', revision: created.revision, keyId: created.keyId, client: 'partner', at: '2026-03-01T00:00:00.000Z' },
      { action: 'revoke', revision: revoked.revision, keyId: created.keyId, client: 'partner', at: '2026-03-01T00:00:00.000Z' },
    ]);
    expect(JSON.stringify(notices)).not.toContain(created.key);

    // A second revoke writes nothing new but tells the instances again.
    const again = await admin.revoke(created.keyId);
    expect(again.revision).toBe(revoked.revision);
    expect(notices).toHaveLength(3);

    const failing = keyRingAdmin({
      backend: fileKeyRing(path),
      pepper: PEPPER,
      env: 'live',
      publish: () => Promise.reject(new KeywardError('PROVIDER_UNAVAILABLE', 'redis 127.0.0.1:6379 is away')),
    });
    const written = await failing.create({ client: 'other', scopes: [] });
    expect(written).toMatchObject({ published: false, publishError: 'PROVIDER_UNAVAILABLE' });
    expect((await fileKeyRing(path).read()).revision).toBe(written.revision);
  });

  it('reads the pepper through a function at each issue, and refuses an unknown keyId', async () => {
    let reads = 0;
    const admin = keyRingAdmin({ backend: fileKeyRing(path), pepper: async () => (reads++, PEPPER), env: 'test' });
    const { key } = await admin.create({ client: 'c', scopes: [] });
    expect(key.startsWith('kw_test_')).toBe(true);
    expect(reads).toBe(1);
    await expect(admin.revoke('AAAAAAAAAAAA')).rejects.toMatchObject({ code: 'API_KEY_UNKNOWN' });
    expect(() => keyRingAdmin({ backend: fileKeyRing(path), pepper: PEPPER, env: 'test', attempts: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('fileKeyRing', () => {
  it('refuses a write computed from an old revision, leaving the file as it was', async () => {
    const backend = fileKeyRing(path);
    const first = await backend.write(emptyKeyRing(), undefined);
    const before = await readFile(path, 'utf8');
    await expect(backend.write({ version: 1, keys: [] }, undefined)).rejects.toMatchObject({ code: 'KEY_RING_CONFLICT' });
    await expect(backend.write(emptyKeyRing(), 'f'.repeat(64))).rejects.toMatchObject({ code: 'KEY_RING_CONFLICT' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await backend.read()).revision).toBe(first);
  });

  it('waits for a held lock, takes over a stale one, and says when it is still held at the timeout', async () => {
    const lock = `${path}.lock`;
    await writeFile(lock, '');
    await expect(fileKeyRing(path, { lockTimeoutMs: 100 }).write(emptyKeyRing(), undefined)).rejects.toMatchObject({
      code: 'KEY_RING_CONFLICT',
      message: expect.stringContaining('locked by another writer'),
    });
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await expect(fileKeyRing(path, { lockTimeoutMs: 100 }).write(emptyKeyRing(), undefined)).resolves.toMatch(/^[0-9a-f]{64}$/);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers a malformed file with SECRET_INVALID, quoting nothing from it', async () => {
    const planted = canary('ring');
    await writeFile(path, `{"version":1,"keys":[{"keyId":"${planted}"}]}`);
    const err = await fileKeyRing(path).read().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'SECRET_INVALID' });
    expect(String((err as Error).message)).not.toContain(planted);
  });
});
