import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { KeywardError, SecretsUnavailableError } from '../errors/index.js';
import { envProvider, fileProvider, type SecretProvider } from '../providers/index.js';
import { canary, closeAfterEach, expectNoCanary, memoryProvider, thrown } from '@keyward/test-support';
import { delay } from '../util/index.js';
import type { RefreshScheduler } from './refresh-scheduler.js';
import { createSecretStore, SecretStore } from './secret-store.js';


describe('SecretStore bootstrap', () => {
  const track = closeAfterEach();

  describe('one error for every problem', () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('fails start-up once, listing every failing secret by name and location and never a value; optional ones do not count', async () => {
      dir = await mkdtemp(join(tmpdir(), 'keyward-boot-'));
      const badPassword = canary();
      const goodToken = canary();
      const memory = memoryProvider({ database: { username: 'app', password: badPassword }, apiToken: goodToken });
      const files = fileProvider({ root: dir });
      const store = track(
        new SecretStore({
          app: 'billing',
          environment: 'production',
          providers: { production: { default: memory, env: envProvider({ env: {} }), files } },
          secrets: {
            apiToken: {},
            database: { schema: z.object({ username: z.string(), password: z.number() }) },
            stripeKey: { provider: 'env' },
            tlsCert: { provider: 'files' },
            sentryDsn: { provider: 'env', required: false },
          },
          refresh: false,
        }),
      );

      const err = (await store.start().catch((e: unknown) => e)) as SecretsUnavailableError;
      expect(err).toBeInstanceOf(SecretsUnavailableError);
      expect(err.code).toBe('SECRETS_UNAVAILABLE');
      expect(err.problems.map((p) => [p.secret, p.location, p.code])).toEqual([
        ['database', 'memory:billing/production/database', 'SECRET_INVALID'],
        ['stripeKey', 'env STRIPE_KEY', 'SECRET_NOT_FOUND'],
        ['tlsCert', join(dir, 'tlsCert'), 'SECRET_NOT_FOUND'],
      ]);
      expect(err.message).toMatch(/^3 secrets could not be loaded:/);
      for (const part of ['database (memory:billing/production/database)', 'password', 'stripeKey (env STRIPE_KEY)', `tlsCert (${join(dir, 'tlsCert')})`]) {
        expect(err.message).toContain(part);
      }
      expect(err.message).not.toContain('sentryDsn');
      expect(err.message).not.toContain('apiToken');
      expectNoCanary({ message: err.message, inspect: inspect(err, { depth: 10 }), json: JSON.stringify(err) }, badPassword, goodToken);

      // A failed start leaves the store closed.
      expect(store.health().status).toBe('down');
      expect(thrown(() => store.get('apiToken')).code).toBe('STORE_CLOSED');
      expect(memory.closes).toBe(1);
    });

    it('starts without a missing optional secret, which then reads as undefined', async () => {
      const store = track(
        await createSecretStore({
          app: 'billing',
          environment: 'test',
          providers: { test: memoryProvider({ apiToken: 't' }) },
          secrets: { apiToken: {}, sentryDsn: { required: false } },
          refresh: false,
        }),
      );
      expect(store.get('sentryDsn')).toBeUndefined();
      expect(store.has('sentryDsn')).toBe(false);
      expect(store.has('apiToken')).toBe(true);
      expect(store.health()).toMatchObject({ status: 'ok', secrets: { sentryDsn: { status: 'absent' }, apiToken: { status: 'ok' } } });
    });

    it('still fails start-up for an optional secret that is present but invalid', async () => {
      const store = track(
        new SecretStore({
          app: 'billing',
          environment: 'test',
          providers: { test: memoryProvider({ sentryDsn: 'not json' }) },
          secrets: { sentryDsn: { required: false, format: 'json' } },
          refresh: false,
        }),
      );
      await expect(store.start()).rejects.toMatchObject({ code: 'SECRETS_UNAVAILABLE', problems: [expect.objectContaining({ secret: 'sentryDsn', code: 'SECRET_INVALID' })] });
    });

    it('retries a retryable failure during bootstrap, and gives up after bootstrapRetries', async () => {
      let failuresLeft = 1;
      const memory = memoryProvider({ apiToken: 't' });
      const flaky: SecretProvider = {
        ...memory,
        async read(ref, context) {
          if (failuresLeft-- > 0) throw new KeywardError('PROVIDER_UNAVAILABLE', 'blip');
          return memory.read(ref, context);
        },
      };
      const options = { app: 'a', environment: 'test', providers: { test: flaky }, secrets: { apiToken: {} }, refresh: false } as const;
      const store = track(await new SecretStore(options).start());
      expect(store.get('apiToken').reveal()).toBe('t');

      failuresLeft = 1;
      const strict = track(new SecretStore({ ...options, bootstrapRetries: 0 }));
      await expect(strict.start()).rejects.toMatchObject({ problems: [expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE' })] });
    });

    it('times a read out after readTimeout even when the provider ignores its signal', async () => {
      const hanging: SecretProvider = { kind: 'hang', locate: () => 'hang:x', read: () => new Promise(() => {}) };
      const store = track(
        new SecretStore({ app: 'a', environment: 'test', providers: { test: hanging }, secrets: { apiToken: {} }, readTimeout: '50ms', bootstrapRetries: 0 }),
      );
      const started = Date.now();
      await expect(store.start()).rejects.toMatchObject({ code: 'SECRETS_UNAVAILABLE', problems: [expect.objectContaining({ code: 'PROVIDER_TIMEOUT' })] });
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  it('reads in parallel with at most `concurrency` reads in flight, and loads them all', async () => {
    const observe = async (count: number, concurrency: number | undefined) => {
      let inFlight = 0;
      let maxInFlight = 0;
      const reads: string[] = [];
      const slow: SecretProvider = {
        kind: 'slow',
        locate: (ref) => ref.path,
        async read(ref) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await delay(5);
          inFlight--;
          reads.push(ref.name);
          return { value: `value-of-${ref.name}` };
        },
      };
      const secrets = Object.fromEntries(Array.from({ length: count }, (_, i) => [`secret${i}`, {}]));
      const store = track(
        await new SecretStore({ app: 'a', environment: 'test', providers: { test: slow }, secrets, refresh: false, ...(concurrency ? { concurrency } : {}) }).start(),
      );
      expect(reads).toHaveLength(count);
      for (let i = 0; i < count; i++) expect(store.get(`secret${i}`).reveal()).toBe(`value-of-secret${i}`);
      return maxInFlight;
    };
    expect(await observe(30, 5)).toBe(5);
    expect(await observe(40, undefined)).toBe(32);
  });

  it('many reads in flight give no MaxListenersExceededWarning (each links to the store\'s close signal)', async () => {
    // In a child process: Node emits the warning on the real process, which jest's sandbox does not see.
    const core = resolve('packages/core/src/index.ts');
    const script = `
      import { SecretStore } from ${JSON.stringify(core)};
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      const slow = { kind: 'slow', locate: (ref) => ref.path, read: (ref) => new Promise((r) => setTimeout(() => r({ value: ref.name }), 5)) };
      const secrets = Object.fromEntries(Array.from({ length: 64 }, (_, i) => ['s' + i, {}]));
      const store = await new SecretStore({ app: 'a', environment: 'test', providers: { test: slow }, secrets, refresh: false, concurrency: 64 }).start();
      await store.close();
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ loaded: Object.keys(store.health().secrets).length, warnings }));
    `;
    const child = spawn(process.execPath, ['--conditions=@keyward/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const [code] = (await Promise.race([new Promise((done) => child.on('exit', (c) => done([c]))), delay(20_000).then(() => (child.kill('SIGKILL'), ['timeout']))])) as [number | string];
    expect(code).toBe(0);
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ loaded: 64, warnings: [] });
  });

  describe('paths and providers per environment', () => {
    it('renders {app}/{env}/{name} into ref.path, and custom templates and variables', async () => {
      const memory = memoryProvider({ database: 'a', stripeKey: 'b', legacy: 'c' });
      track(
        await new SecretStore({
          app: 'billing',
          environment: 'staging',
          providers: { staging: memory },
          secrets: { database: {}, stripeKey: { path: '{team}/shared/{name}' }, legacy: { path: 'fixed/path' } },
          variables: { team: 'payments' },
          refresh: false,
        }).start(),
      );
      expect(Object.fromEntries(memory.reads.map((r) => [r.name, r.path]))).toEqual({
        database: 'billing/staging/database',
        stripeKey: 'payments/shared/stripeKey',
        legacy: 'fixed/path',
      });

      const other = memoryProvider({ database: 'a' });
      track(await new SecretStore({ app: 'billing', environment: 'test', providers: { test: other }, secrets: { database: {} }, pathTemplate: 'kv/{region}/{env}/{app}/{name}', variables: { region: 'eu' }, refresh: false }).start());
      expect(other.reads[0]!.path).toBe('kv/eu/test/billing/database');
    });

    it('refuses an unknown placeholder with CONFIG_INVALID when constructed, before reading anything', () => {
      const memory = memoryProvider({ database: 'a' });
      const err = thrown(() => new SecretStore({ app: 'billing', environment: 'test', providers: { test: memory }, secrets: { database: { path: '{app}/{region}/{name}' } } }));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain('{region}');
      expect(memory.reads).toHaveLength(0);
      expect(thrown(() => new SecretStore({ app: 'b', environment: 'test', providers: { test: memory }, secrets: { x: {} }, pathTemplate: '{tenant}/{name}' })).code).toBe('CONFIG_INVALID');
    });

    it("chooses the environment's providers, and named ones per secret", async () => {
      const devOnly = memoryProvider({ database: 'dev-db', stripeKey: 'dev-stripe' }, 'dev');
      const vault = memoryProvider({ database: 'prod-db' }, 'vault');
      const aws = memoryProvider({ stripeKey: 'prod-stripe' }, 'aws');
      const providers = { development: devOnly, production: { default: vault, aws } };
      const secrets = { database: {}, stripeKey: { provider: 'aws' } };

      const prod = track(await new SecretStore({ app: 'shop', environment: 'production', providers, secrets, refresh: false }).start());
      expect(prod.get('database').reveal()).toBe('prod-db');
      expect(prod.get('stripeKey').reveal()).toBe('prod-stripe');
      expect(prod.health().secrets).toMatchObject({ database: { provider: 'vault' }, stripeKey: { provider: 'aws' } });

      // A single provider serves every secret, whatever provider name it asks for.
      const dev = track(await new SecretStore({ app: 'shop', environment: 'development', providers, secrets, refresh: false }).start());
      expect(dev.get('database').reveal()).toBe('dev-db');
      expect(dev.get('stripeKey').reveal()).toBe('dev-stripe');
      expect(devOnly.starts).toBe(1);
    });

    it("refuses with CONFIG_INVALID a provider name the environment lacks, or an environment nobody configured; '*' catches the rest", () => {
      const memory = memoryProvider({});
      const providers = { production: { default: memory } };
      const missing = thrown(() => new SecretStore({ app: 'a', environment: 'production', providers, secrets: { stripeKey: { provider: 'aws' } } }));
      expect(missing.code).toBe('CONFIG_INVALID');
      expect(missing.message).toContain('stripeKey');
      expect(missing.message).toContain('"aws"');
      const noDefault = thrown(() => new SecretStore({ app: 'a', environment: 'production', providers: { production: { aws: memory } }, secrets: { db: {} } }));
      expect(noDefault.code).toBe('CONFIG_INVALID');
      const noEnv = thrown(() => new SecretStore({ app: 'a', environment: 'qa', providers, secrets: { db: {} } }));
      expect(noEnv.code).toBe('CONFIG_INVALID');
      expect(noEnv.message).toContain('"qa"');
      expect(new SecretStore({ app: 'a', environment: 'qa', providers: { ...providers, '*': memory }, secrets: { db: {} } }).environment).toBe('qa');
      expect(thrown(() => new SecretStore({ app: '', environment: 'qa', providers: { '*': memory }, secrets: {} })).code).toBe('CONFIG_INVALID');
      expect(thrown(() => new SecretStore({ app: 'a', environment: 'qa', providers: { '*': memory }, secrets: {}, maxStaleness: 'soon' })).code).toBe('CONFIG_INVALID');
      for (const concurrency of [0, -1, 2.5, Number.NaN]) {
        expect(thrown(() => new SecretStore({ app: 'a', environment: 'qa', providers: { '*': memory }, secrets: {}, concurrency })).code).toBe('CONFIG_INVALID');
      }
      const zeroInterval = thrown(() => new SecretStore({ app: 'a', environment: 'qa', providers: { '*': memory }, secrets: { db: { refresh: { interval: 0 } } } }));
      expect(zeroInterval.code).toBe('CONFIG_INVALID');
      expect(zeroInterval.message).toContain('"db"');
    });

    it('takes the environment from NODE_ENV by default, else development', async () => {
      const saved = process.env['NODE_ENV'];
      try {
        process.env['NODE_ENV'] = 'production';
        const memory = memoryProvider({ db: 'x' });
        const store = track(new SecretStore({ app: 'shop', providers: { production: memory }, secrets: { db: {} }, refresh: false }));
        expect(store.environment).toBe('production');
        await store.start();
        expect(memory.reads[0]).toMatchObject({ path: 'shop/production/db' });
        delete process.env['NODE_ENV'];
        expect(new SecretStore({ app: 'shop', providers: { development: memory }, secrets: {} }).environment).toBe('development');
        process.env['NODE_ENV'] = '';
        expect(new SecretStore({ app: 'shop', providers: { development: memory }, secrets: {} }).environment).toBe('development');
        expect(thrown(() => new SecretStore({ app: 'shop', environment: '', providers: { '': memory }, secrets: {} })).code).toBe('CONFIG_INVALID');
        expect(new SecretStore({ app: 'shop', environment: 'test', providers: { test: memory }, secrets: {} }).environment).toBe('test');
      } finally {
        if (saved === undefined) delete process.env['NODE_ENV'];
        else process.env['NODE_ENV'] = saved;
      }
    });
  });

  describe('reads it refuses, and closing', () => {
    const options = () => {
      const memory = memoryProvider({ apiToken: 't', database: 'd' });
      return { memory, options: { app: 'a', environment: 'test', providers: { test: memory }, secrets: { apiToken: {}, database: {} }, refresh: false } as const };
    };

    it('refuses undeclared names, reads before start, and reads after close, each with its code', async () => {
      const { options: o } = options();
      const store = track(new SecretStore(o));
      const undeclared = thrown(() => store.get('adminPassword' as 'apiToken'));
      expect(undeclared.code).toBe('SECRET_NOT_DECLARED');
      expect(undeclared.secret).toBe('adminPassword');
      expect(thrown(() => store.has('adminPassword' as 'apiToken')).code).toBe('SECRET_NOT_DECLARED');
      expect(thrown(() => store.get('apiToken')).code).toBe('SECRET_NOT_LOADED');
      expect(store.health().status).toBe('down');
      await store.start();
      expect(store.get('apiToken').reveal()).toBe('t');
      expect(thrown(() => store.get('other' as 'apiToken')).code).toBe('SECRET_NOT_DECLARED');
      await store.close();
      expect(thrown(() => store.get('apiToken')).code).toBe('STORE_CLOSED');
      expect(store.health().status).toBe('down');
    });

    it('closes once: the same promise every time, each provider closed once', async () => {
      const { memory, options: o } = options();
      const store = track(await new SecretStore(o).start());
      const first = store.close();
      expect(store.close()).toBe(first);
      await first;
      await store.close();
      expect(memory.closes).toBe(1);
      await expect(store.start()).resolves.toBe(store);
    });

    it('reads again after start-up when the provider signals a change during the first read', async () => {
      let notify: () => void = () => {};
      let open: () => void = () => {};
      const gate = new Promise<void>((r) => (open = r));
      let value = 'old';
      let reads = 0;
      let inFlight = 0;
      let maxInFlight = 0;
      const provider: SecretProvider = {
        kind: 'watched',
        locate: () => 'watched',
        async read() {
          const seen = value;
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          if (reads++ === 0) await gate;
          inFlight--;
          return { value: seen };
        },
        watch(_ref, onChange) {
          notify = onChange;
          return () => {};
        },
      };
      const store = track(new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { token: {} }, refresh: false }));
      const rotated = new Promise<string>((resolve) => store.once('rotated', (e) => resolve(e.current.reveal() as string)));
      const started = store.start();
      await new Promise((r) => setImmediate(r));
      value = 'new';
      notify(); // while the first read is still out
      open();
      await started;
      expect(await rotated).toBe('new');
      expect(reads).toBe(2);
      expect(maxInFlight).toBe(1); // the second read waited for the first
    });

    it('closes everything it started when the scheduler refuses a refresh', async () => {
      const { memory, options: o } = options();
      const cancelled: string[] = [];
      let calls = 0;
      const scheduler: RefreshScheduler = {
        every(id) {
          if (++calls === 2) throw new Error(`interval ${id} already exists`);
          return () => void cancelled.push(id);
        },
      };
      const store = track(new SecretStore({ ...o, refresh: { interval: '1s' }, scheduler }));
      await expect(store.start()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect(cancelled).toHaveLength(1);
      expect(memory.closes).toBe(1);
      expect(store.health().status).toBe('down');
    });

    it('refuses refresh() before start() and after close(), with codes that say which', async () => {
      const { options: o } = options();
      const store = track(new SecretStore(o));
      await expect(store.refresh()).rejects.toMatchObject({ code: 'SECRET_NOT_LOADED' });
      await store.start();
      await expect(store.refresh()).resolves.toBeUndefined();
      await store.close();
      await expect(store.refresh()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('refuses to start once closed, and starts nothing when closed while starting', async () => {
      const { memory, options: o } = options();
      const registered: string[] = [];
      const scheduler: RefreshScheduler = {
        every(id) {
          registered.push(id);
          return () => {};
        },
      };
      const closedFirst = track(new SecretStore({ ...o, refresh: { interval: '1s' }, scheduler }));
      await closedFirst.close();
      await expect(closedFirst.start()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      expect(memory.reads).toHaveLength(0);

      const closedDuring = track(new SecretStore({ ...o, refresh: { interval: '1s' }, scheduler }));
      const starting = closedDuring.start();
      const closing = closedDuring.close();
      await expect(starting).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await closing;
      expect(registered).toEqual([]);
    });

    it('leaves no timer or watch that keeps the process alive', async () => {
      // A child process with a started, never-closed store (interval refresh, a lease, a watched file) must exit by itself.
      const dir = await mkdtemp(join(tmpdir(), 'keyward-exit-'));
      try {
        await writeFile(join(dir, 'token'), 't');
        const core = resolve('packages/core/src/index.ts');
        const script = `
          import { SecretStore, fileProvider } from ${JSON.stringify(core)};
          const leased = { kind: 'leased', locate: () => 'x', read: async () => ({ value: 'v', lease: { id: 'l', ttlMs: 60000, renewable: true, issuedAt: new Date() } }) };
          const store = await new SecretStore({
            app: 'a', environment: 'test', refresh: { interval: '50ms' }, maxStaleness: '1h',
            providers: { test: { default: fileProvider({ root: ${JSON.stringify(dir)} }), leased } },
            secrets: { token: {}, db: { provider: 'leased' } },
          }).start();
          console.log('started', store.health().status);
        `;
        const child = spawn(process.execPath, ['--conditions=@keyward/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const code = await new Promise<number | null | 'timeout'>((done) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            done('timeout');
          }, 15_000);
          child.on('exit', (c) => {
            clearTimeout(timer);
            done(c);
          });
        });
        expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'started ok' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 20_000);
  });

  it('calls onAccess with name, version and provider for each get(); a throwing hook refuses the read', async () => {
    const seen: unknown[] = [];
    let refuse = false;
    const store = track(
      await new SecretStore({
        app: 'a',
        environment: 'test',
        providers: { test: memoryProvider({ apiToken: 't' }, 'vault-kv') },
        secrets: { apiToken: {} },
        refresh: false,
        onAccess: (event) => {
          if (refuse) throw new KeywardError('PERMISSION_DENIED', 'audit trail unavailable', { secret: event.name });
          seen.push(event);
        },
      }).start(),
    );
    store.get('apiToken');
    store.get('apiToken');
    expect(seen).toEqual([
      { name: 'apiToken', version: 'v1', provider: 'vault-kv', at: expect.any(Date) },
      { name: 'apiToken', version: 'v1', provider: 'vault-kv', at: expect.any(Date) },
    ]);
    refuse = true;
    expect(thrown(() => store.get('apiToken')).code).toBe('PERMISSION_DENIED');
    expect(seen).toHaveLength(2);
  });
});
