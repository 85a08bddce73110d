import { describe, expect, it, jest } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import type { SecretLease } from '../secret/index.js';
import { closeAfterEach, memoryProvider, nextEvent, waitFor } from '@keyward/test-support';
import { SecretStore } from '../store/secret-store.js';
import { CredentialPool } from './credential-pool.js';
import { storeCredentials } from './credential-source.js';
import type { PoolDriver } from './pool-driver.js';

interface Credentials {
  username: string;
  password: string;
}

/** A database stand-in: it knows which credentials log in, and tracks every connection. */
function fakeDatabase() {
  let nextId = 0;
  const db = {
    accepted: new Set<string>(),
    /** Connections open now, by id, with the user they logged in as. */
    open: new Map<number, string>(),
    logins: 0,
    refusals: 0,
    destroyed: 0,
    connectDelayMs: 0,
  };
  const driver: PoolDriver<{ id: number; user: string }, Credentials> = {
    async connect({ username, password }) {
      db.logins++;
      if (db.connectDelayMs) await new Promise((r) => setTimeout(r, db.connectDelayMs));
      if (!db.accepted.has(`${username}:${password}`)) {
        db.refusals++;
        throw Object.assign(new Error(`password authentication failed for user "${username}"`), { code: '28P01' });
      }
      const id = ++nextId;
      db.open.set(id, username);
      return { id, user: username };
    },
    async check() {},
    async close(c) {
      db.open.delete(c.id);
    },
    destroy(c) {
      db.destroyed++;
      db.open.delete(c.id);
    },
    isAuthFailure: (err) => (err as { code?: string }).code === '28P01',
  };
  return { db, driver };
}

describe('CredentialPool', () => {
  const track = closeAfterEach();

  async function setup(options: { lease?: boolean } = {}) {
    const { db, driver } = fakeDatabase();
    const memory = memoryProvider({ database: { username: 'app-1', password: 'pw-1' } });
    const revoked: string[] = [];
    if (options.lease) {
      let n = 0;
      const read = memory.read.bind(memory);
      memory.read = async (ref, ctx) => {
        const result = await read(ref, ctx);
        const lease: SecretLease = { id: `lease-${++n}`, ttlMs: 60_000, renewable: false, issuedAt: new Date() };
        return typeof result === 'symbol' ? result : { ...result, lease };
      };
      memory.revoke = async (lease) => void revoked.push(lease.id);
    }
    db.accepted.add('app-1:pw-1');
    const store = track(
      await new SecretStore({ app: 'a', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: false }).start(),
    );
    const rotate = async (username: string, password: string) => {
      db.accepted.add(`${username}:${password}`);
      memory.values['database'] = { username, password };
      await store.refresh('database');
    };
    return { db, driver, memory, store, rotate, revoked };
  }

  function poolOf(s: Awaited<ReturnType<typeof setup>>, options = {}) {
    const pool = new CredentialPool(storeCredentials<Credentials>(s.store, 'database'), s.driver, { max: 3, ...options });
    track({ close: () => pool.end() });
    return pool;
  }

  it('reuses connections, waits at max, and times a wait out with POOL_TIMEOUT', async () => {
    const s = await setup();
    const pool = poolOf(s, { acquireTimeout: 100 });
    const a = await pool.acquire();
    a.release();
    const b = await pool.acquire();
    expect(b.connection).toBe(a.connection);
    const c = await pool.acquire();
    const d = await pool.acquire();
    expect(pool.stats()).toMatchObject({ total: 3, busy: 3, idle: 0 });
    const waiting = pool.acquire();
    expect(pool.stats().waiting).toBe(1);
    c.release();
    const handedOver = await waiting;
    expect(handedOver.connection).toBe(c.connection);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_TIMEOUT' });
    for (const lease of [b, d, handedOver]) lease.release();
    expect(s.db.logins).toBe(3);
  });

  it('moves new checkouts to rotated credentials, lets busy work finish, closes idle old connections at once, then lets the old lease go', async () => {
    const s = await setup({ lease: true });
    const pool = poolOf(s);
    const busy = await pool.acquire();
    const idle = await pool.acquire();
    idle.release();
    const drained = new Promise((resolve) => pool.once('drained', resolve));

    await s.rotate('app-2', 'pw-2');
    await waitFor(() => pool.stats().generations.some((g) => g.version === 'v2' && g.state === 'active'), 2000, 'the new generation');
    expect(s.db.open.has(idle.connection.id)).toBe(false); // idle old: closed at once
    expect(s.db.open.get(busy.connection.id)).toBe('app-1'); // busy old: still working
    expect(s.revoked).toEqual([]); // the old lease is held while it is in use

    const fresh = await pool.acquire();
    expect(fresh.connection.user).toBe('app-2');
    busy.release();
    await expect(drained).resolves.toMatchObject({ id: 1, version: 'v1', closedIdle: 1, closedOnRelease: 1, forced: 0 });
    await waitFor(() => s.revoked.length === 1, 1000, 'the old lease revoked');
    expect(s.revoked).toEqual(['lease-1']);
    expect([...s.db.open.values()]).toEqual(['app-2']);
    fresh.release();
  });

  it('keeps the current generation when new credentials do not log in, and switches once they do', async () => {
    const s = await setup();
    const pool = poolOf(s, { retryBackoff: 20 });
    const failures: number[] = [];
    pool.on('generationFailed', (e) => failures.push(e.attempt));
    s.memory.values['database'] = { username: 'app-2', password: 'pw-2' }; // not yet accepted by the database
    await s.store.refresh('database');
    await waitFor(() => failures.length >= 2, 2000, 'failed attempts');
    const meanwhile = await pool.acquire();
    expect(meanwhile.connection.user).toBe('app-1');
    meanwhile.release();
    s.db.accepted.add('app-2:pw-2');
    await waitFor(() => pool.stats().generations.some((g) => g.version === 'v2' && g.state === 'active'), 2000, 'the switch');
    const after = await pool.acquire();
    expect(after.connection.user).toBe('app-2');
    after.release();
  });

  it('answers refused credentials with ONE shared refresh and one retry, however many checkouts failed', async () => {
    const s = await setup();
    const pool = poolOf(s, { max: 5 });
    // The credentials change behind the store's back: the old password stops working.
    s.db.accepted.clear();
    s.db.accepted.add('app-1:pw-new');
    s.memory.values['database'] = { username: 'app-1', password: 'pw-new' };
    const readsBefore = s.memory.reads.length;
    const retries: unknown[] = [];
    pool.on('authRetry', (e) => retries.push(e));
    const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    expect(leases.every((l) => l.connection.user === 'app-1')).toBe(true);
    expect(s.memory.reads.length - readsBefore).toBe(1);
    expect(retries).toHaveLength(5);
    for (const l of leases) l.release();
  });

  it('closes the old generation as soon as the checkouts refused on it have moved to the new credentials', async () => {
    const s = await setup();
    const pool = poolOf(s, { max: 5 });
    s.db.accepted.clear();
    s.db.accepted.add('app-1:pw-new');
    s.memory.values['database'] = { username: 'app-1', password: 'pw-new' };
    // Well before drainTimeout (30 s): nothing is left on the old generation once the retries are done.
    const drained = nextEvent(pool, 'drained', 1000);
    const leases = await Promise.all(Array.from({ length: 3 }, () => pool.acquire()));
    await expect(drained).resolves.toMatchObject({ id: 1, version: 'v1', closedIdle: 0, closedOnRelease: 0, forced: 0 });
    expect(pool.stats().generations.map((g) => g.version)).toEqual(['v2']);
    for (const l of leases) l.release();
  });

  it('switches all the same when a generation listener throws, and warms no further than max', async () => {
    const s = await setup();
    const pool = poolOf(s, { max: 3, min: 2 });
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      pool.on('generation', () => {
        throw new Error('listener bug');
      });
      const busy = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, pool.stats().total)), 1);
      await s.rotate('app-2', 'pw-2');
      await waitFor(() => pool.stats().generations.some((g) => g.version === 'v2' && g.state === 'active'), 2000, 'the switch');
      clearInterval(watch);
      // The new credentials' test connection is the only one beyond max while old work runs.
      expect(Math.max(most, pool.stats().total)).toBeLessThanOrEqual(4);
      expect(pool.stats().generations.filter((g) => g.version === 'v2')).toHaveLength(1);
      expect(emitWarning).toHaveBeenCalledWith("a 'generation' listener of the credential pool threw", expect.objectContaining({ code: 'KEYWARD_LISTENER_ERROR' }));
      for (const lease of busy) lease.release();
      const fresh = await pool.acquire();
      expect(fresh.connection.user).toBe('app-2');
      fresh.release();
    } finally {
      emitWarning.mockRestore();
    }
  });

  it('with rotationSurge, opens as many new connections as the old generation had before it takes over (make before break), within max + surge', async () => {
    const s = await setup();
    const pool = poolOf(s, { max: 4, rotationSurge: 4 });
    const busy = await Promise.all(Array.from({ length: 4 }, () => pool.acquire()));
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, pool.stats().total)), 1);
    const switched = nextEvent(pool, 'generation', 2000);
    await s.rotate('app-2', 'pw-2');
    await switched;
    clearInterval(watch);
    // The old generation's 4 connections are still in use; the new one is ready with as many, idle.
    const v2 = pool.stats().generations.find((g) => g.version === 'v2')!;
    expect(v2).toMatchObject({ state: 'active', idle: 4, busy: 0 });
    expect(Math.max(most, pool.stats().total)).toBeLessThanOrEqual(8);
    // New checkouts take the warm connections at once: no login on their path.
    const fresh = await Promise.all(Array.from({ length: 4 }, () => pool.acquire()));
    expect(fresh.map((l) => l.connection.user)).toEqual(['app-2', 'app-2', 'app-2', 'app-2']);
    expect(pool.stats().generations.find((g) => g.version === 'v2')).toMatchObject({ idle: 0, busy: 4, opening: 0 });
    for (const lease of [...busy, ...fresh]) lease.release();
    await waitFor(() => pool.stats().generations.every((g) => g.version === 'v2'), 2000, 'the old generation closed');
    expect(pool.stats().total).toBe(4);
  });

  it('refuses a rotationSurge that is not a whole number >= 0', async () => {
    const s = await setup();
    for (const rotationSurge of [-1, 1.5]) expect(() => poolOf(s, { rotationSurge })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('bounds the drain by the old lease as renewed, not as first issued', async () => {
    const { db, driver } = fakeDatabase();
    db.accepted.add('app-1:pw-1');
    let n = 0;
    const provider = memoryProvider({ database: { username: 'app-1', password: 'pw-1' } });
    const read = provider.read.bind(provider);
    provider.read = async (ref, ctx) => {
      const result = await read(ref, ctx);
      const lease: SecretLease = { id: `lease-${++n}`, ttlMs: 3000, renewable: true, issuedAt: new Date() };
      return typeof result === 'symbol' ? result : { ...result, lease };
    };
    provider.renew = async (lease) => ({ ...lease, issuedAt: new Date() });
    const store = track(
      await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false }).start(),
    );
    const pool = new CredentialPool(storeCredentials<Credentials>(store, 'database'), driver, { max: 3, drainTimeout: '20s' });
    track({ close: () => pool.end() });
    const busy = await pool.acquire();
    await nextEvent(store, 'leaseRenewed', 3000); // ~2 s in: the lease as issued has ~1 s left, as renewed ~3 s
    const drained = nextEvent<{ forced: number }>(pool, 'drained', 5000);
    db.accepted.add('app-2:pw-2');
    provider.values['database'] = { username: 'app-2', password: 'pw-2' };
    await store.refresh('database');
    await waitFor(() => pool.stats().generations.some((g) => g.version === 'v2' && g.state === 'active'), 2000, 'the switch');
    await new Promise((r) => setTimeout(r, 200)); // in-flight work finishing
    expect(db.open.has(busy.connection.id)).toBe(true);
    busy.release();
    await expect(drained).resolves.toMatchObject({ forced: 0, closedOnRelease: 1 });
  }, 10_000);

  it('forces old connections closed at drainTimeout, and end() refuses new checkouts', async () => {
    const s = await setup();
    const pool = poolOf(s, { drainTimeout: 50 });
    const stuck = await pool.acquire();
    const drained = new Promise((resolve) => pool.once('drained', resolve));
    await s.rotate('app-2', 'pw-2');
    await expect(drained).resolves.toMatchObject({ forced: 1 });
    expect(s.db.open.has(stuck.connection.id)).toBe(false);
    stuck.release(); // a late release of a forced connection changes nothing
    await pool.end();
    await expect(pool.acquire()).rejects.toBeInstanceOf(KeywardError);
    expect(s.db.open.size).toBe(0);
  });
});
