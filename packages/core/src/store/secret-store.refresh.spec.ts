import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { KeywardError } from '../errors/index.js';
import { UNCHANGED, type ReadResult, type SecretProvider } from '../providers/index.js';
import { closeAfterEach, memoryProvider, nextEvent, thrown, waitFor } from '@keyward/test-support';
import type { RefreshScheduler } from './refresh-scheduler.js';
import type { SecretRecoveredEvent, SecretRefreshFailedEvent, SecretRotatedEvent, SecretStaleEvent } from './store-events.js';
import { SecretStore } from './secret-store.js';

/** A scheduler the test drives: `tick()` runs every registered refresh once. */
function manualScheduler(): RefreshScheduler & { tick(): void; ids: string[] } {
  const tasks = new Map<string, () => void>();
  return {
    ids: [],
    every(id, _ms, task) {
      this.ids.push(id);
      tasks.set(id, task);
      return () => tasks.delete(id);
    },
    tick() {
      for (const task of tasks.values()) task();
    },
  };
}


describe('SecretStore freshness', () => {
  const track = closeAfterEach();

  describe('a provider that fails after bootstrap', () => {
    it('emits stale before the first refusal even when its timer runs late (a blocked event loop), and only once', async () => {
      const memory = memoryProvider({ database: 'postgres://app@db/app' });
      const store = track(
        await new SecretStore({ app: 'billing', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: { interval: 20, jitter: 0 }, maxStaleness: 100 }).start(),
      );
      const heard: string[] = [];
      store.on('stale', (e) => heard.push(e.name));
      const failed = nextEvent<SecretRefreshFailedEvent>(store, 'refreshFailed', 2000);
      memory.down = true;
      const { failingSince } = await failed;
      // Block past maxStaleness: the stale timer cannot run before the get() below.
      while (Date.now() <= failingSince.getTime() + 150) {
        // busy: the event loop is held, as a long synchronous task would hold it
      }
      expect(heard).toEqual([]);
      expect(thrown(() => store.get('database'))).toMatchObject({ code: 'SECRET_STALE' });
      expect(heard).toEqual(['database']);
      expect(store.health().status).toBe('down');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heard).toEqual(['database']);
    });

    it('emits stale before a late-timer health() reports the secret down', async () => {
      const memory = memoryProvider({ database: 'postgres://app@db/app' });
      const store = track(
        await new SecretStore({ app: 'billing', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: { interval: 20, jitter: 0 }, maxStaleness: 100 }).start(),
      );
      const heard: string[] = [];
      store.on('stale', (e) => heard.push(e.name));
      const failed = nextEvent<SecretRefreshFailedEvent>(store, 'refreshFailed', 2000);
      memory.down = true;
      const { failingSince } = await failed;
      while (Date.now() <= failingSince.getTime() + 150) {
        // busy: the stale timer cannot run before the health() below
      }
      expect(store.health().secrets['database']?.status).toBe('down');
      expect(heard).toEqual(['database']);
    });

    it('serves the last value while degraded, refuses it once past maxStaleness, and recovers by itself', async () => {
      const memory = memoryProvider({ database: 'postgres://app@db/app', apiToken: 'steady' });
      const store = track(
        await new SecretStore({
          app: 'billing',
          environment: 'test',
          providers: { test: memory },
          secrets: { database: {}, apiToken: { refresh: false } },
          refresh: { interval: 30, jitter: 0 },
          maxStaleness: 400,
        }).start(),
      );
      const failures: SecretRefreshFailedEvent[] = [];
      store.on('refreshFailed', (e) => failures.push(e));
      expect(store.health().status).toBe('ok');

      const stale = nextEvent<SecretStaleEvent>(store, 'stale', 3000);
      memory.down = true;
      const downAt = Date.now();
      await waitFor(() => failures.length >= 3, 1000, 'three refresh failures');

      // Within maxStaleness: still served, health degraded with when and why.
      expect(store.get('database').reveal()).toBe('postgres://app@db/app');
      const degraded = store.health();
      expect(degraded.status).toBe('degraded');
      expect(degraded.secrets['database']).toMatchObject({ status: 'degraded', error: 'PROVIDER_UNAVAILABLE', failingSince: expect.any(String) });
      expect(Date.parse(degraded.secrets['database']!.failingSince!)).toBeGreaterThanOrEqual(downAt - 5);
      expect(degraded.secrets['apiToken']).toMatchObject({ status: 'ok' });
      expect(failures[0]).toMatchObject({ name: 'database', attempt: 1, error: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', secret: 'database' }) });
      expect(failures.map((f) => f.attempt).slice(0, 3)).toEqual([1, 2, 3]);
      expect(new Set(failures.map((f) => f.failingSince.getTime())).size).toBe(1);

      // Past maxStaleness: a stale event, get() refuses, health is down.
      const staleEvent = await stale;
      expect(staleEvent).toMatchObject({ name: 'database', error: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' }) });
      expect(Date.now() - downAt).toBeGreaterThanOrEqual(400);
      const refused = thrown(() => store.get('database'));
      expect(refused).toBeInstanceOf(KeywardError);
      expect(refused).toMatchObject({ code: 'SECRET_STALE', secret: 'database' });
      expect((refused!.cause as KeywardError).code).toBe('PROVIDER_UNAVAILABLE');
      expect(store.health()).toMatchObject({ status: 'down', secrets: { database: { status: 'down' }, apiToken: { status: 'ok' } } });
      // A secret that is not refreshed is not failing.
      expect(store.get('apiToken').reveal()).toBe('steady');

      // The backend comes back: recovered, ok, served again.
      const recovered = nextEvent<SecretRecoveredEvent>(store, 'recovered', 2000);
      memory.down = false;
      const event = await recovered;
      expect(event.name).toBe('database');
      expect(event.failedForMs).toBeGreaterThanOrEqual(400);
      expect(store.health().status).toBe('ok');
      expect(store.health().secrets['database']).not.toHaveProperty('failingSince');
      expect(store.get('database').reveal()).toBe('postgres://app@db/app');
      // Same value: no new version.
      expect(store.get('database').version).toBe('v1');
    });

    it('retries at the refresh interval, not at the 1 s base backoff, when the interval is shorter', async () => {
      const memory = memoryProvider({ database: 'x' });
      const scheduler = manualScheduler();
      const store = track(
        await new SecretStore({ app: 'a', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: { interval: 30, jitter: 0 }, maxStaleness: '1h', scheduler }).start(),
      );
      expect(scheduler.ids).toEqual(['keyward.refresh.database']);
      const failures: SecretRefreshFailedEvent[] = [];
      store.on('refreshFailed', (e) => failures.push(e));
      memory.down = true;
      // One interval refresh; every later read is the store's own retry.
      scheduler.tick();
      await waitFor(() => failures.length >= 5, 900, 'five failed attempts from retries alone');
      const reads = memory.reads.slice(1).map((r) => r.at);
      const gaps = reads.slice(1).map((at, i) => at - reads[i]!);
      expect(Math.max(...gaps)).toBeLessThan(200);
      // And a retry that succeeds ends the run.
      const recovered = nextEvent<SecretRecoveredEvent>(store, 'recovered', 1000);
      memory.down = false;
      await recovered;
      expect(store.health().status).toBe('ok');
    });
  });

  describe('rotation detection', () => {
    it('gives a changed value without a provider version the next version, and emits rotated with both', async () => {
      const memory = memoryProvider({ database: { username: 'app', password: 'one' } });
      const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: memory }, secrets: { database: {} }, refresh: false }).start());
      expect(store.get('database').version).toBe('v1');

      const rotations: SecretRotatedEvent[] = [];
      store.on('rotated', (e) => rotations.push(e));
      await store.refresh('database');
      expect(rotations).toHaveLength(0);
      expect(memory.reads[1]!.current).toMatchObject({ version: 'v1' });

      memory.values['database'] = { username: 'app', password: 'two' };
      await store.refresh('database');
      expect(rotations).toHaveLength(1);
      expect(rotations[0]).toMatchObject({ name: 'database', reason: 'manual' });
      expect(rotations[0]!.previous.version).toBe('v1');
      expect(rotations[0]!.current.version).toBe('v2');
      expect(rotations[0]!.previous.reveal()).toEqual({ username: 'app', password: 'one' });
      expect(rotations[0]!.current.reveal()).toEqual({ username: 'app', password: 'two' });
      expect(store.get('database')).toBe(rotations[0]!.current);
    });

    it("sees a change a provider makes in place to the object it returned, and leaves that object unfrozen", async () => {
      const value = { username: 'app', password: 'one' };
      const memory = memoryProvider({ database: value, typed: value });
      const store = track(
        await new SecretStore({
          app: 'a',
          environment: 'test',
          providers: { test: memory },
          secrets: { database: {}, typed: { schema: z.object({ username: z.string(), password: z.string() }) } },
          refresh: false,
        }).start(),
      );
      expect(Object.isFrozen(value)).toBe(false);
      expect(Object.isFrozen(store.get('database').reveal())).toBe(true);
      value.password = 'two';
      const rotated: string[] = [];
      store.on('rotated', (e) => rotated.push(e.name));
      await store.refresh();
      expect(rotated.sort()).toEqual(['database', 'typed']);
      expect(store.get('database').reveal()).toEqual({ username: 'app', password: 'two' });
      expect((store.get('typed').reveal() as { password: string }).password).toBe('two');
    });

    it("uses the provider's versions when it gives them", async () => {
      const memory = memoryProvider({ apiKey: 'one' });
      memory.versions['apiKey'] = '7';
      const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: memory }, secrets: { apiKey: {} }, refresh: false }).start());
      expect(store.get('apiKey').version).toBe('7');
      const rotations: SecretRotatedEvent[] = [];
      store.on('rotated', (e) => rotations.push(e));

      // Same version: the backend says nothing changed.
      memory.values['apiKey'] = 'one-again';
      await store.refresh('apiKey');
      expect(rotations).toHaveLength(0);
      expect(store.get('apiKey').reveal()).toBe('one');

      memory.versions['apiKey'] = '8';
      memory.values['apiKey'] = 'two';
      await store.refresh('apiKey');
      expect(rotations.map((r) => [r.previous.version, r.current.version])).toEqual([['7', '8']]);
      expect(store.get('apiKey').reveal()).toBe('two');
    });

    it('keeps the secret on an UNCHANGED answer and confirms its age', async () => {
      let answer: 'value' | 'unchanged' = 'value';
      const contexts: unknown[] = [];
      const provider: SecretProvider = {
        kind: 'etag',
        locate: () => 'etag:x',
        async read(_ref, context): Promise<ReadResult> {
          contexts.push(context.current);
          return answer === 'value' ? { value: 'v', version: 'etag-1' } : UNCHANGED;
        },
      };
      const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { token: {} }, refresh: false }).start());
      const loaded = store.get('token');
      await waitFor(() => (store.health().secrets['token']?.ageMs ?? 0) >= 60, 2000, 'the value to age');
      answer = 'unchanged';
      const rotations: unknown[] = [];
      store.on('rotated', (e) => rotations.push(e));
      await store.refresh('token');
      expect(contexts[1]).toMatchObject({ version: 'etag-1' });
      expect(store.get('token')).toBe(loaded);
      expect(rotations).toHaveLength(0);
      expect(store.health().secrets['token']!.ageMs).toBeLessThan(60);
    });

    it('refresh() rejects when the read fails and keeps the last good value; refresh() with no name reads all', async () => {
      const memory = memoryProvider({ a: '1', b: '2' });
      const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: memory }, secrets: { a: {}, b: {} }, refresh: false }).start());
      memory.values['a'] = '1b';
      memory.values['b'] = '2b';
      await store.refresh();
      expect([store.get('a').reveal(), store.get('b').reveal()]).toEqual(['1b', '2b']);

      memory.down = true;
      await expect(store.refresh('a')).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', secret: 'a' });
      expect(store.get('a').reveal()).toBe('1b');
      expect(store.health().secrets).toMatchObject({ a: { status: 'degraded', error: 'PROVIDER_UNAVAILABLE' }, b: { status: 'ok' } });
      await expect(store.refresh('nope' as 'a')).rejects.toMatchObject({ code: 'SECRET_NOT_DECLARED' });
    });

    it('refresh() joining a read already in flight still rejects when the reads fail', async () => {
      const memory = memoryProvider({ a: '1' });
      const pending: (() => void)[] = [];
      const gated: SecretProvider = {
        ...memory,
        async read(ref, context) {
          await new Promise<void>((r) => pending.push(r));
          return memory.read(ref, context);
        },
      };
      const letOneReadThrough = async () => {
        await waitFor(() => pending.length === 1, 1000, 'a read waiting at the gate');
        pending.shift()!();
      };
      const scheduler = manualScheduler();
      const store = track(new SecretStore({ app: 'a', environment: 'test', providers: { test: gated }, secrets: { a: {} }, refresh: { interval: '1h', jitter: 0 }, scheduler }));
      const starting = store.start();
      await letOneReadThrough();
      await starting;

      memory.down = true;
      scheduler.tick(); // an interval refresh, whose errors nobody awaits
      await waitFor(() => pending.length === 1, 1000, 'the interval read in flight');
      const manual = store.refresh('a');
      const outcome = manual.then(
        () => 'resolved',
        (err: KeywardError) => err.code,
      );
      await letOneReadThrough(); // the interval read fails...
      await letOneReadThrough(); // ...and runs once more for refresh(), which fails too
      expect(await outcome).toBe('PROVIDER_UNAVAILABLE');
    });
  });

  it('takes a rotation listener from each of 40 consumers without a leak warning, and still warns past 100', () => {
    // In a process of its own: jest's `process` does not hear Node's warnings.
    const store = new URL('./secret-store.ts', import.meta.url).href;
    const script = `
      const { SecretStore } = await import(${JSON.stringify(store)});
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      const s = new SecretStore({ app: 'a', environment: 'test', providers: { test: { kind: 'm', locate: () => 'm', read: async () => ({ value: 'x' }) } }, secrets: { tls: {} }, refresh: false });
      for (let i = 0; i < 40; i++) s.on('rotated', () => {});
      await new Promise((resolve) => setImmediate(resolve));
      const at40 = [...warnings];
      for (let i = 0; i < 61; i++) s.on('rotated', () => {});
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify({ at40, at101: warnings }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(JSON.parse(out)).toEqual({ at40: [], at101: ['MaxListenersExceededWarning'] });
  });

  it('keeps an optional secret absent, with no failures, until it appears', async () => {
    const memory = memoryProvider({ apiToken: 't' });
    const store = track(
      await new SecretStore({
        app: 'a',
        environment: 'test',
        providers: { test: memory },
        secrets: { apiToken: { refresh: false }, sentryDsn: { required: false } },
        refresh: { interval: 15, jitter: 0 },
        maxStaleness: 50,
      }).start(),
    );
    const noise: string[] = [];
    store.on('refreshFailed', (e) => noise.push(`refreshFailed ${e.name}`));
    store.on('stale', (e) => noise.push(`stale ${e.name}`));
    await waitFor(() => memory.reads.filter((r) => r.name === 'sentryDsn').length >= 6, 2000, 'several refreshes of sentryDsn');
    expect(noise).toEqual([]);
    expect(store.health()).toMatchObject({ status: 'ok', secrets: { sentryDsn: { status: 'absent' } } });
    expect(store.health().secrets['sentryDsn']).not.toHaveProperty('error');
    await expect(store.refresh('sentryDsn')).resolves.toBeUndefined();

    memory.values['sentryDsn'] = 'https://sentry.example/1';
    await waitFor(() => store.has('sentryDsn'), 2000, 'sentryDsn to appear');
    expect(store.get('sentryDsn')?.reveal()).toBe('https://sentry.example/1');
    expect(store.health().secrets['sentryDsn']).toMatchObject({ status: 'ok' });
  });
  describe('intervals and leases longer than a Node timer can hold (2^31-1 ms, about 24.8 days)', () => {
    // Node turns a longer setTimeout/setInterval into 1 ms (TimeoutOverflowWarning): a 30-day refresh
    // would hit the backend a thousand times a second, a 60-day lease would be renewed at once.
    it('a 30-day refresh interval does not refresh at once, and a 60-day lease is not renewed at once', async () => {
      const memory = memoryProvider({ apiToken: 'steady', database: 'postgres://app@db/app' });
      memory.leases['database'] = { id: 'lease-long', ttlMs: 60 * 86_400_000, renewable: true, issuedAt: new Date() };
      let renewals = 0;
      memory.renew = async (lease) => {
        renewals += 1;
        return { ...lease, issuedAt: new Date() };
      };
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        const store = track(
          await new SecretStore({
            app: 'billing',
            environment: 'test',
            providers: { test: memory },
            secrets: { apiToken: {}, database: { refresh: false } },
            refresh: { interval: '30d', jitter: 0 },
          }).start(),
        );
        const readsAtStart = memory.reads.length;
        // Long enough for a 1 ms interval to have run many times over.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(memory.reads.length).toBe(readsAtStart);
        expect(renewals).toBe(0);
        expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
        expect(store.health().status).toBe('ok');
      } finally {
        process.off('warning', onWarning);
      }
    });
  });
});
