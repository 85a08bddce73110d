import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import type { SecretDeclaration, StandardSchemaV1 } from '../declarations/index.js';
import { KeywardError, SecretsUnavailableError } from '../errors/index.js';
import { canary, closeAfterEach, expectNoCanary, memoryProvider, nextEvent, waitFor } from '@keyward/test-support';
import type { SecretRotatedEvent } from './store-events.js';
import { SecretStore } from './secret-store.js';

/** Every way an error gets printed or shipped. */
function printed(err: unknown): Record<string, string> {
  const e = err as KeywardError;
  return {
    message: e.message,
    inspect: inspect(e, { depth: 10 }),
    inspectHidden: inspect(e, { depth: 10, showHidden: true }),
    json: JSON.stringify(e),
    toJSON: JSON.stringify(e.toJSON()),
    string: String(e),
    stack: String(e.stack),
  };
}

describe('SecretStore never shows a value', () => {
  const track = closeAfterEach();

  /** Starts a store whose one secret `database` has `value` and `declaration`; returns the start-up error. */
  async function startFailure(value: unknown, declaration: SecretDeclaration): Promise<SecretsUnavailableError> {
    const store = new SecretStore({ app: 'billing', environment: 'test', providers: { test: memoryProvider({ database: value }) }, secrets: { database: declaration }, refresh: false });
    track(store);
    const err = await store.start().then(
      () => {
        throw new Error('start-up should have failed');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SecretsUnavailableError);
    const failure = err as SecretsUnavailableError;
    expect(failure.problems).toHaveLength(1);
    expect(failure.problems[0]).toMatchObject({ secret: 'database', location: 'memory:billing/test/database', code: 'SECRET_INVALID' });
    return failure;
  }

  it('for malformed JSON, not even through the cause chain', async () => {
    const value = canary();
    const err = await startFailure(`{"username":"app","password":"${value}"`, { format: 'json' });
    expect(err.problems[0]!.message).toBe('is not valid JSON');
    expectNoCanary(printed(err), value);
    // The inner error, printed on its own with whatever cause it has.
    expectNoCanary(printed((err.cause as AggregateError).errors[0]), value);
  });

  it('for a missing key, naming the keys that are there', async () => {
    const value = canary();
    const err = await startFailure({ user: 'app', pass: value }, { key: 'password' });
    expect(err.problems[0]!.message).toBe('has no key "password" (it has: user, pass)');
    expectNoCanary(printed(err), value);
    const notAMap = await startFailure(value, { key: 'password' });
    expect(notAMap.problems[0]!.message).toContain('a string');
    expectNoCanary(printed(notAMap), value);
  });

  const schemas: [string, StandardSchemaV1, StandardSchemaV1][] = [
    [
      'zod',
      z.object({ username: z.string(), password: z.enum(['a', 'b'], { error: (issue) => `expected a or b, got "${String(issue.input)}"` }) }),
      z.object({ username: z.string(), password: z.literal('x', { error: (issue) => `wrong: ${String(issue.input)}` }) }),
    ],
    ['valibot', v.object({ username: v.string(), password: v.picklist(['a', 'b']) }), v.object({ username: v.string(), password: v.literal('x') })],
    ['arktype', type({ username: 'string', password: "'a' | 'b'" }), type({ username: 'string', password: 'string.email' })],
  ];

  describe.each(schemas)('for a %s schema failure', (vendor, enumSchema, otherSchema) => {
    it('that quotes the received value', async () => {
      const value = canary();
      const err = await startFailure({ username: 'app', password: value }, { schema: enumSchema });
      // The failure is real and names the field...
      expect(err.problems[0]!.message).toMatch(/^does not match its schema: password: /);
      expect(err.message).toContain('database (memory:billing/test/database): SECRET_INVALID: does not match its schema: password: ');
      // ...the validator did quote the value (else this test proves nothing), and the store removed it.
      const raw = await enumSchema['~standard'].validate({ username: 'app', password: value });
      expect(JSON.stringify(raw)).toContain(value);
      expectNoCanary(printed(err), value);
      expect(err.message).toContain(vendor === 'zod' ? 'got "[redacted]"' : '[redacted]');
    });

    it('in a JSON secret, still naming the failing field', async () => {
      const value = canary();
      const err = await startFailure(JSON.stringify({ username: 'app', password: value }), { format: 'json', schema: otherSchema });
      expect(err.problems[0]!.message).toMatch(/^does not match its schema: password: /);
      expectNoCanary(printed(err), value);
    });

    it('and validates for real when the value fits', async () => {
      const store = new SecretStore({
        app: 'billing',
        environment: 'test',
        providers: { test: memoryProvider({ database: { username: 'app', password: 'a' } }) },
        secrets: { database: { schema: enumSchema } },
        refresh: false,
      });
      track(store);
      await store.start();
      expect(store.get('database').reveal()).toEqual({ username: 'app', password: 'a' });
    });
  });

  it('for a schema that throws (a transform calling JSON.parse), as SECRET_INVALID with its message redacted and no cause', async () => {
    const value = canary();
    const schema = z.string().transform((s) => JSON.parse(s) as unknown);
    // V8 quotes the first 10 characters of a long input, so a part of the value is what leaks.
    const fragment = value.slice(0, 10);
    const thrown = await Promise.resolve(schema['~standard'].validate(value)).catch((e: unknown) => e);
    expect(String(thrown)).toContain(fragment);
    const err = await startFailure(value, { schema });
    expect(err.problems[0]).toMatchObject({ code: 'SECRET_INVALID', message: expect.stringMatching(/^its schema threw SyntaxError: .*\[redacted\].* is not valid JSON$/) });
    const inner = (err.cause as AggregateError).errors[0] as KeywardError;
    expect(inner).toMatchObject({ code: 'SECRET_INVALID', retryable: false });
    expectNoCanary({ ...printed(err), problems: JSON.stringify(err.problems) }, value, fragment);
    expectNoCanary(printed(inner), value, fragment);
    expectNoCanary({ cause: inspect(inner.cause, { depth: 10, showHidden: true }) }, value, fragment);
  });

  it('for a value with quotes, backslashes and control characters, which validators print escaped', async () => {
    const hex = randomBytes(12).toString('hex');
    const value = `canary-${hex}\u0001tail\\"x\ncanary-${hex}-2`;
    const err = await startFailure({ username: 'app', password: value }, { schema: type({ username: 'string', password: "'a' | 'b'" }) });
    expectNoCanary(printed(err), `canary-${hex}`, value, JSON.stringify(value));
  });

  it('uses the schema output as the value, typed by the schema', async () => {
    const store = new SecretStore({
      app: 'billing',
      environment: 'test',
      providers: { test: memoryProvider({ port: '5432', hosts: 'a,b', flags: '{"debug":true}' }) },
      secrets: {
        port: { schema: z.coerce.number().int() },
        hosts: { schema: v.pipe(v.string(), v.transform((s) => s.split(','))) },
        flags: { format: 'json', schema: type({ debug: 'boolean' }) },
      },
      refresh: false,
    });
    track(store);
    await store.start();
    const port: number = store.get('port').reveal();
    const hosts: string[] = store.get('hosts').reveal();
    const debug: boolean = store.get('flags').reveal().debug;
    expect({ port, hosts, debug }).toEqual({ port: 5432, hosts: ['a', 'b'], debug: true });
  });

  it('in health, events and the stale error while a secret fails and rotates', async () => {
    const first = canary();
    const second = canary();
    const memory = memoryProvider({ database: { username: 'app', password: first }, apiToken: first });
    const store = new SecretStore({
      app: 'billing',
      environment: 'test',
      providers: { test: memory },
      secrets: { database: {}, apiToken: {} },
      refresh: { interval: 20, jitter: 0 },
      maxStaleness: '150ms',
    });
    track(store);
    const output: Record<string, string> = {};
    for (const event of ['rotated', 'refreshFailed', 'stale', 'recovered'] as const) {
      store.on(event, (payload: unknown) => {
        output[`${event} event`] = (output[`${event} event`] ?? '') + inspect(payload, { depth: 10, showHidden: true }) + JSON.stringify(payload);
      });
    }
    await store.start();

    const rotated = nextEvent<SecretRotatedEvent>(store, 'rotated', 2000, (e) => e.name === 'database');
    memory.values['database'] = { username: 'app', password: second };
    const event = await rotated;
    expect(event.previous.reveal()).toEqual({ username: 'app', password: first });
    expect(event.current.reveal()).toEqual({ username: 'app', password: second });
    const printedEvent = inspect(event, { depth: 10 });
    expect(printedEvent).toContain('[secret database@v1]');
    expect(printedEvent).toContain('[secret database@v2]');

    memory.down = true;
    await waitFor(() => store.health().status === 'degraded', 2000, 'degraded');
    output['degraded health'] = JSON.stringify(store.health());
    await waitFor(() => store.health().secrets['database']?.status === 'down', 2000, 'database down');
    output['down health'] = JSON.stringify(store.health());
    let staleError: unknown;
    try {
      store.get('database');
    } catch (err) {
      staleError = err;
    }
    expect(staleError).toMatchObject({ code: 'SECRET_STALE' });
    Object.assign(output, printed(staleError));
    output['store'] = inspect(store, { depth: 10, showHidden: true });
    expect(Object.keys(output)).toEqual(expect.arrayContaining(['rotated event', 'refreshFailed event', 'stale event']));
    expectNoCanary(output, first, second);
  });
});
