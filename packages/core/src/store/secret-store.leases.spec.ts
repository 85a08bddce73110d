import { describe, expect, it, jest } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import { UNCHANGED, type SecretPayload, type SecretProvider } from '../providers/index.js';
import type { SecretLease } from '../secret/index.js';
import { closeAfterEach, nextEvent, waitFor } from '@keyward/test-support';
import type { LeaseEvent, SecretRotatedEvent } from './store-events.js';
import { SecretStore } from './secret-store.js';

const TTL_MS = 300;

/** Dynamic database credentials: each read issues a new user and lease; renew and revoke are recorded. */
function dynamicCredentials() {
  let generation = 0;
  const provider = {
    kind: 'db-creds',
    /** What the next renew does: give this TTL, or throw. */
    renewWith: TTL_MS as number | 'throw',
    /** Issue the same credentials again (with a new lease) on the next reads. */
    sameCredentials: false,
    reads: [] as number[],
    renews: [] as { id: string; at: number }[],
    revokes: [] as string[],
    locate: () => 'database/creds/app',
    async read(): Promise<SecretPayload> {
      provider.reads.push(Date.now());
      if (!provider.sameCredentials || generation === 0) generation++;
      const lease: SecretLease = { id: `lease-${provider.reads.length}`, ttlMs: TTL_MS, renewable: true, issuedAt: new Date() };
      return { value: { username: `v-app-${generation}`, password: `pw-${generation}` }, version: `gen-${generation}`, lease };
    },
    async renew(lease: SecretLease): Promise<SecretLease> {
      provider.renews.push({ id: lease.id, at: Date.now() });
      if (provider.renewWith === 'throw') throw new KeywardError('PROVIDER_UNAVAILABLE', 'lease not found');
      return { ...lease, ttlMs: provider.renewWith, issuedAt: new Date() };
    },
    async revoke(lease: SecretLease): Promise<void> {
      provider.revokes.push(lease.id);
    },
  } satisfies SecretProvider & Record<string, unknown>;
  return provider;
}

describe('SecretStore leases', () => {
  const track = closeAfterEach();

  async function storeWith(provider: SecretProvider, options: { revokeLeasesOnClose?: boolean } = {}) {
    const store = new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false, ...options });
    track(store);
    return store.start();
  }

  it('renews at about 2/3 of the TTL, keeps the credentials, and renews the renewed lease again', async () => {
    const creds = dynamicCredentials();
    const store = await storeWith(creds);
    const issuedAt = creds.reads[0]!;
    const first = store.get('database');
    expect(first.lease).toMatchObject({ id: 'lease-1', ttlMs: TTL_MS, renewable: true });

    const renewed = await nextEvent<LeaseEvent>(store, 'leaseRenewed', 2000);
    expect(renewed).toEqual({ name: 'database', leaseId: 'lease-1' });
    const after = creds.renews[0]!.at - issuedAt;
    expect(after).toBeGreaterThanOrEqual(170); // 2/3 of 300 ms, less 10% jitter and a little clock slack
    expect(after).toBeLessThan(TTL_MS); // before the lease ends
    expect(store.get('database').reveal()).toEqual(first.reveal());
    expect(store.get('database').version).toBe(first.version);
    expect(creds.reads).toHaveLength(1);

    await waitFor(() => creds.renews.length >= 2, 2000, 'a second renewal');
    expect(creds.reads).toHaveLength(1);
    expect(creds.revokes).toEqual([]);
  });

  it.each([
    ['renewal comes back with a short TTL', 50 as number | 'throw'],
    ['renewal fails', 'throw' as number | 'throw'],
  ])('reads new credentials and emits rotated when the %s, then revokes the old lease at once', async (_case, renewWith) => {
    const creds = dynamicCredentials();
    creds.renewWith = renewWith;
    const store = await storeWith(creds);
    const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 2000);
    const event = await nextEvent<SecretRotatedEvent>(store, 'rotated', 2000);
    expect(event.reason).toBe('lease');
    expect(event.previous.reveal()).toEqual({ username: 'v-app-1', password: 'pw-1' });
    expect(event.current.reveal()).toEqual({ username: 'v-app-2', password: 'pw-2' });
    expect(event.current.lease?.id).toBe('lease-2');
    expect(creds.renews[0]!.id).toBe('lease-1');
    // Nobody held it: revoked right after the event.
    expect(creds.revokes).toEqual(['lease-1']);
    expect(await revoked).toEqual({ name: 'database', leaseId: 'lease-1' });
    expect(store.get('database').reveal()).toEqual({ username: 'v-app-2', password: 'pw-2' });
  });

  it('revokes the old lease only once every hold has been released', async () => {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    const store = await storeWith(creds);
    const releases: (() => void)[] = [];
    store.once('rotated', (event) => {
      releases.push(event.hold(), event.hold());
    });
    const event = await nextEvent<SecretRotatedEvent>(store, 'rotated', 2000);
    expect(event.previous.lease?.id).toBe('lease-1');
    expect(creds.revokes).toEqual([]);

    releases[0]!();
    releases[0]!(); // releasing twice counts once
    expect(creds.revokes).toEqual([]);

    const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 2000, (e) => e.leaseId === 'lease-1');
    releases[1]!();
    expect(creds.revokes).toEqual(['lease-1']);
    await revoked;
  });

  it('revokes at once when a listener releases its hold before the event is over', async () => {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    const store = await storeWith(creds);
    store.once('rotated', (event) => event.hold()());
    await nextEvent<SecretRotatedEvent>(store, 'rotated', 2000);
    expect(creds.revokes).toEqual(['lease-1']);
  });

  it('reports a failed revocation as leaseRevokeFailed', async () => {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    const failing: SecretProvider = { ...creds, revoke: async () => Promise.reject(new Error('vault sealed')) };
    const store = await storeWith(failing);
    const failed = await nextEvent<LeaseEvent>(store, 'leaseRevokeFailed', 2000);
    expect(failed).toMatchObject({ name: 'database', leaseId: 'lease-1', error: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', secret: 'database' }) });
  });

  it('renews a lease whose renewal fell in an outage once the backend is back, before the lease ends', async () => {
    const creds = dynamicCredentials();
    let away = false;
    // As Vault's provider: a refresh (not a re-issue) of credentials still leased answers "unchanged".
    const provider: SecretProvider = {
      ...creds,
      async read(_ref, { current }) {
        if (away) throw new KeywardError('PROVIDER_UNAVAILABLE', 'sealed');
        return current?.lease !== undefined ? UNCHANGED : creds.read();
      },
      async renew(lease) {
        if (away) throw new KeywardError('PROVIDER_UNAVAILABLE', 'sealed');
        return creds.renew(lease);
      },
    };
    const store = await storeWith(provider);
    away = true;
    await nextEvent(store, 'refreshFailed', 2000); // the renewal at ~2/3 of the TTL, and the re-issue after it
    away = false;
    // A renewal that works is the backend answering for this very value: health is ok again at
    // once, not at the store's next retry (which backs off up to 30 s).
    let statusAtRenewal: string | undefined;
    const recovered: unknown[] = [];
    store.on('recovered', (e) => recovered.push(e));
    store.once('leaseRenewed', () => (statusAtRenewal = store.health().secrets['database']!.status));
    const renewed = await nextEvent<LeaseEvent>(store, 'leaseRenewed', 2000);
    expect(renewed).toEqual({ name: 'database', leaseId: 'lease-1' });
    expect(statusAtRenewal).toBe('ok');
    expect(recovered).toEqual([{ name: 'database', failedForMs: expect.any(Number) }]);
    expect(creds.renews[0]!.at - creds.reads[0]!).toBeLessThan(TTL_MS);
    expect(store.get('database').reveal()).toEqual({ username: 'v-app-1', password: 'pw-1' });
  });

  it('keeps renewing when new credentials come back equal under a new lease', async () => {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    creds.sameCredentials = true;
    const store = await storeWith(creds);
    const rotations: unknown[] = [];
    store.on('rotated', (e) => rotations.push(e));
    // lease-1's renewal fails, a read gives the same credentials under lease-2: that one must be renewed next.
    await waitFor(() => creds.renews.some((r) => r.id === 'lease-2'), 2000, 'a renewal of lease-2');
    expect(rotations).toEqual([]);
    expect(store.get('database').version).toBe('gen-1');
  });

  it('leaves leases to expire on close by default, and revokes them with revokeLeasesOnClose', async () => {
    const kept = dynamicCredentials();
    const keeping = await storeWith(kept);
    await keeping.close();
    expect(kept.revokes).toEqual([]);

    const revoked = dynamicCredentials();
    const revoking = await storeWith(revoked, { revokeLeasesOnClose: true });
    await revoking.close();
    expect(revoked.revokes).toEqual(['lease-1']);
  });
});

describe('SecretStore lease hand-off at the edges', () => {
  const track = closeAfterEach();

  async function rotatingStore(options: { revokeLeasesOnClose?: boolean } = {}) {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    const store = new SecretStore({ app: 'a', environment: 'test', providers: { test: creds }, secrets: { database: {} }, refresh: false, ...options });
    track(store);
    return { creds, store: await store.start() };
  }

  it('keeps a rotation and its lease hand-off when a rotated listener throws, and reports the throw as a warning', async () => {
    const { creds, store } = await rotatingStore();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      store.on('rotated', () => {
        throw new Error('listener bug');
      });
      const failed: unknown[] = [];
      store.on('refreshFailed', (e) => failed.push(e));
      await nextEvent<LeaseEvent>(store, 'leaseRevoked', 2000);
      expect(creds.revokes).toEqual(['lease-1']);
      expect(store.get('database').version).toBe('gen-2');
      expect(store.health().status).toBe('ok');
      expect(failed).toEqual([]);
      const [message, options] = emitWarning.mock.calls[0] as [string, { code: string; detail: string }];
      expect(message).toBe("a 'rotated' listener of the secret store threw");
      expect(options.code).toBe('KEYWARD_LISTENER_ERROR');
      expect(options.detail).toContain('listener bug');
    } finally {
      emitWarning.mockRestore();
    }
  });

  it('leaves a held lease alone when it is released after close, and revokes it at close with revokeLeasesOnClose', async () => {
    for (const revokeLeasesOnClose of [false, true]) {
      const { creds, store } = await rotatingStore({ revokeLeasesOnClose });
      let release: (() => void) | undefined;
      store.on('rotated', (e) => {
        release ??= e.hold();
      });
      const failures: LeaseEvent[] = [];
      store.on('leaseRevokeFailed', (e) => failures.push(e));
      await waitFor(() => release !== undefined, 2000, 'a rotation');
      expect(creds.revokes).toEqual([]);
      await store.close();
      expect(creds.revokes).toEqual(revokeLeasesOnClose ? expect.arrayContaining(['lease-1', 'lease-2']) : []);
      const revokedAtClose = creds.revokes.length;
      release!();
      await new Promise((r) => setImmediate(r));
      expect(creds.revokes).toHaveLength(revokedAtClose);
      expect(failures).toEqual([]);
    }
  });

  it('asks the provider for new credentials (no cheap "unchanged") when a lease cannot be renewed', async () => {
    const creds = dynamicCredentials();
    creds.renewWith = 'throw';
    // A provider that answers UNCHANGED whenever the store says what it holds.
    const cheap: SecretProvider = { ...creds, read: (ref, context) => (context.current ? Promise.resolve(UNCHANGED) : creds.read()) };
    const store = track(new SecretStore({ app: 'a', environment: 'test', providers: { test: cheap }, secrets: { database: {} }, refresh: false }));
    await store.start();
    const event = await nextEvent<SecretRotatedEvent>(store, 'rotated', 2000);
    expect(event.current.version).toBe('gen-2');
    expect(creds.reads).toHaveLength(2);
  });
});

describe('SecretStore leases near max_ttl', () => {
  it('gets new credentials well before max_ttl, not after renewals that shrink toward it', async () => {
    jest.useFakeTimers({ now: 0 });
    // Jitter always early: each renewal then leaves 40% of the lease, more than a third of it.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const TTL = 300_000;
      const MAX = 1_000_000;
      let issuedAt = 0;
      let generation = 0;
      const provider: SecretProvider = {
        kind: 'capped',
        locate: () => 'database/creds/app',
        async read() {
          issuedAt = Date.now();
          generation++;
          return { value: { password: `pw-${generation}` }, version: `g${generation}`, lease: { id: `l${generation}`, ttlMs: TTL, renewable: true, issuedAt: new Date() } };
        },
        // Like Vault: a renewal never reaches past the lease's max_ttl.
        async renew(lease) {
          return { ...lease, ttlMs: Math.min(TTL, issuedAt + MAX - Date.now()), issuedAt: new Date() };
        },
      };
      const store = new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { database: {} }, refresh: false });
      await store.start();
      let marginMs: number | undefined;
      store.once('rotated', () => {
        marginMs = MAX - Date.now(); // the first credentials were issued at 0
      });
      for (let t = 0; t < MAX && marginMs === undefined; t += 1000) await jest.advanceTimersByTimeAsync(1000);
      await store.close();
      // The last renewal accepted gave at least a third of the issued TTL; 60% of that later, new
      // credentials come: the old ones still have 40% of a third of the TTL to run.
      expect(marginMs).toBeGreaterThanOrEqual(0.4 * (TTL / 3) - 1000);
    } finally {
      random.mockRestore();
      jest.useRealTimers();
    }
  });
});
