import { describe, expect, it } from '@jest/globals';
import { verifyAuditFile, type AuditKey } from '@keyward/core';
import fc from 'fast-check';
import { fuzzRequest } from './fuzz-http.js';
import { tally, type FuzzOracle, type Outcome } from './fuzz-oracle.js';
import type { AuditFileTail } from './raw-http.js';
import { withSecret, MARKER, type Credential, type FuzzKeyRing, type FuzzRequest } from './fuzz-http.js';

/** Random requests per framework and run (bounded: the suites share two cores); `KEYWARD_FUZZ_RUNS` digs deeper locally. */
export const FUZZ_RUNS = Number(process.env['KEYWARD_FUZZ_RUNS'] ?? 200);

/**
 * fast-check's parameters: `FUZZ_RUNS` runs from a new random seed each time; to replay a failure,
 * set `KEYWARD_FUZZ_SEED` (and `KEYWARD_FUZZ_PATH`) to what its report printed.
 */
function fuzzParameters(): fc.Parameters<[FuzzRequest]> {
  const seed = process.env['KEYWARD_FUZZ_SEED'];
  const path = process.env['KEYWARD_FUZZ_PATH'];
  return { numRuns: FUZZ_RUNS, ...(seed === undefined ? {} : { seed: Number(seed) }), ...(path === undefined ? {} : { path }) };
}

/** Sends console output of the app under test to `into` (and nowhere else) until the returned function is called. */
export function captureConsole(into: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => [m, console[m]] as const);
  for (const m of methods) console[m] = (...args: unknown[]) => void into.push(args.map(String).join(' '));
  return () => {
    for (const [m, original] of saved) console[m] = original;
  };
}

const HOST = ['Host', '127.0.0.1'] as const;
const refused = (what: string): Credential => ({ kind: 'refused', what });

function request(fields: Partial<FuzzRequest> & Pick<FuzzRequest, 'target'>, credentialHeaders: (readonly [string, string])[] = []): FuzzRequest {
  return {
    method: 'GET',
    version: 'HTTP/1.1',
    credential: refused('no key'),
    route: 'other',
    echoedId: undefined,
    malformed: false,
    body: undefined,
    parsedBody: false,
    ...fields,
    headers: [HOST, ...credentialHeaders, ...(fields.headers ?? [])],
  };
}

/** The attacks the issue names, each sent every run, whatever the random ones draw. */
export function fixedRequests(keys: FuzzKeyRing): FuzzRequest[] {
  const [current, previous] = keys.valid as [FuzzKeyRing['valid'][number], FuzzKeyRing['valid'][number]];
  const valid = (key = current): Credential => ({ kind: 'valid', key });
  const secret = current.key.slice(current.key.lastIndexOf('_') + 1, -6);
  const typo = current.key.slice(0, 20) + (current.key[20] === 'a' ? 'b' : 'a') + current.key.slice(21);
  return [
    request({ target: '/orders/1', route: 'orders', credential: valid(), echoedId: 'req-1' }, [['X-API-Key', current.key], ['X-Request-ID', 'req-1']]),
    request({ target: '/orders/2', route: 'orders', credential: valid(previous) }, [['Authorization', `Bearer ${previous.key}`]]),
    request({ target: '/orders/..%2f..%2fetc%2fpasswd', route: 'orders', credential: valid() }, [['X-API-Key', current.key]]),
    request({ target: '/orders/..%2f..%2fetc%2fpasswd', route: 'orders' }),
    request({ target: '/orders/%00', route: 'orders' }),
    request({ target: '/orders/%2e%2e', route: 'orders' }, [['X-API-Key', typo]]),
    request({ target: '/%2e%2e/%2e%2e/etc/passwd', credential: valid() }, [['X-API-Key', current.key]]),
    request({ target: '/..%2f..%2fetc/passwd' }),
    request({ target: '/orders/%c0%ae%c0%ae/admin' }, [['X-API-Key', current.key.toUpperCase()]]),
    request({ target: '/orders/%c0%ae%c0%ae' }),
    request({ target: '/orders/%zz' }),
    request({ target: '/orders/\xc3\xa9', malformed: true }),
    request({ target: 'http://evil.example/orders/1', route: 'other' }),
    request({ target: '/orders/3', route: 'orders', credential: refused('valid key sent twice') }, [['X-API-Key', current.key], ['X-Api-Key', current.key]]),
    request({ target: '/orders/4', route: 'orders', credential: refused('X-API-Key wins over a valid bearer') }, [['X-API-Key', `${MARKER}`], ['Authorization', `Bearer ${current.key}`]]),
    request({ target: '/orders/5', route: 'orders', credential: refused('obs-text') }, [['X-API-Key', `\xe9\xff\x80${MARKER}\xc0\xae`]]),
    request({ target: '/orders/6', route: 'orders', credential: refused('over 1 KiB') }, [['X-API-Key', `${current.key}${' '.repeat(10)}${'x'.repeat(5000)}`]]),
    request({ target: '/orders/7', route: 'orders', credential: refused('over 16 KiB') }, [['X-API-Key', `${MARKER}${'k'.repeat(30_000)}`]]),
    request({ target: '/orders/8', route: 'orders', credential: refused('NUL byte'), malformed: true }, [['X-API-Key', `${MARKER}\x00`]]),
    request({ target: '/orders/9', route: 'orders', credential: refused('Basic') }, [['Authorization', `Basic ${Buffer.from(`billing:${MARKER}`).toString('base64')}`]]),
    request({ target: '/orders/10', route: 'orders', credential: refused('secret changed, checksum fixed') }, [['X-API-Key', withSecret(current.key, secret.slice(1) + secret[0])]]),
    ...Object.entries(keys.refused).map(([what, key]) => request({ target: '/orders/11', route: 'orders', credential: refused(`${what} key`) }, [['Authorization', `bearer ${key}`]])),
    request({ target: '/admin', route: 'admin', credential: valid() }, [['X-API-Key', current.key]]),
    request({ target: '/health', route: 'health' }, [['X-Request-ID', 'a'], ['X-Request-ID', 'b']]),
    request({ target: '/orders/12', route: 'orders', credential: valid(), echoedId: 'x'.repeat(128) }, [['X-API-Key', `\t${current.key} `], ['X-Request-ID', 'x'.repeat(128)]]),
    request({ target: '/orders/13', route: 'orders', credential: refused('Bearer after a tab') }, [['Authorization', `Bearer\t${current.key}`]]),
    // Bodies the parsers refuse: still answered through the audit middleware, with a record.
    request({ target: '/orders/14', route: 'orders', method: 'POST', body: '{"a":', parsedBody: true, headers: [['Content-Type', 'application/json']] }),
    request({ target: '/orders/15', route: 'orders', credential: valid(), body: '{"a":', parsedBody: true, headers: [['Content-Type', 'application/json']] }, [['X-API-Key', current.key]]),
    request({ target: '/health', route: 'health', method: 'POST', body: 'x', parsedBody: true, headers: [['Content-Type', 'application/json'], ['Content-Encoding', 'x-unknown']] }),
    request({ target: '/admin', route: 'admin', body: `"${'x'.repeat(120_000)}"`, parsedBody: true, headers: [['Content-Type', 'application/json']] }),
  ];
}

/** What a suite needs of its app, once its `beforeAll` has started it. */
export interface FuzzedAppUnderTest {
  readonly oracle: FuzzOracle;
  readonly tail: AuditFileTail;
  readonly file: string;
  readonly auditKey: AuditKey;
}

/** The same three tests for each framework: the named attacks, the random ones, and the audit file afterwards. */
export function describeFuzzedApp(title: string, keys: FuzzKeyRing, app: () => FuzzedAppUnderTest): void {
  describe(title, () => {
    it('answers the named attacks (traversal, %00, overlong UTF-8, duplicated and oversized headers) within the properties', async () => {
      const outcomes: Outcome[] = [];
      for (const req of fixedRequests(keys)) outcomes.push(await app().oracle.exchange(req));
      expect(tally(outcomes)).toMatchObject({ 'app 200 handled': expect.any(Number), 'app 401': expect.any(Number), 'node 400': expect.any(Number), 'node 431': expect.any(Number) });
    });

    it('never a 5xx, a valid key always passes, nothing else reaches a guarded handler, every answer audited, nothing leaks', async () => {
      const outcomes: Outcome[] = [];
      await fc.assert(
        fc.asyncProperty(fuzzRequest(keys), async (req) => {
          outcomes.push(await app().oracle.exchange(req));
        }),
        fuzzParameters(),
      );
      expect(tally(outcomes)).toMatchObject({ 'app 200 handled': expect.any(Number), 'app 401': expect.any(Number) });
    }, 30_000 + FUZZ_RUNS * 200);

    it('leaves one record per answered request and nothing else, in a chain that verifies', async () => {
      const { tail, file, auditKey } = app();
      await tail.more();
      expect(tail.unclaimed()).toEqual([]);
      expect(await verifyAuditFile(file, auditKey)).toMatchObject({ ok: true });
    });
  });
}
