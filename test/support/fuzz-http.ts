import { createHash, randomBytes } from 'node:crypto';
import { createApiKey, emptyKeyRing, revokeApiKey, rotateApiKey, type KeyRing } from '@keyward/core';
import fc from 'fast-check';

// The hostile requests of the raw-HTTP fuzz suites (test/fuzz-http-*.test.ts) and what each one
// is sent to prove. Values are latin1 strings: one character per byte on the wire.

const HOUR = 3_600_000;
/** Never sent by the apps: a value carrying it must not come back anywhere (response, log, audit). */
export const MARKER = `FUZZMARK${randomBytes(6).toString('hex')}`;

/** The app's key ring: a valid current and previous key, and keys that must be refused though well-formed. */
export function fuzzKeyRing(pepper: string, now = Date.now()) {
  const first = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper, now: now - 2 * HOUR });
  const current = rotateApiKey(first.ring, { client: 'billing', grace: '24h', env: 'live', pepper, now: now - HOUR });
  const lapsed = createApiKey(current.ring, { client: 'reports', env: 'live', scopes: ['orders:read'], pepper, now: now - 3 * HOUR });
  const reports = rotateApiKey(lapsed.ring, { client: 'reports', grace: '1h', env: 'live', pepper, now: now - 2 * HOUR });
  const gone = createApiKey(reports.ring, { client: 'gone', env: 'live', scopes: ['orders:read'], pepper, now: now - HOUR });
  const ring: KeyRing = revokeApiKey(gone.ring, gone.keyId, { now: now - HOUR });
  const stranger = createApiKey(emptyKeyRing(), { client: 'billing', env: 'live', scopes: ['orders:read'], pepper: `${pepper}-elsewhere` });
  const valid = [
    { name: 'current', key: current.key, keyId: current.keyId, previous: false },
    { name: 'previous', key: first.key, keyId: first.keyId, previous: true },
    { name: 'reports', key: reports.key, keyId: reports.keyId, previous: false },
  ];
  const refused = { expired: lapsed.key, revoked: gone.key, unknown: stranger.key };
  return { ring, valid, refused };
}
export type FuzzKeyRing = ReturnType<typeof fuzzKeyRing>;
export type ValidKey = FuzzKeyRing['valid'][number];

/** The secret part of every key (what follows `kw_<env>_<keyId>_`): a canary, whatever else is around it. */
export const secretParts = (keys: FuzzKeyRing) => [...keys.valid.map((k) => k.key), ...Object.values(keys.refused)].map((k) => k.slice(k.lastIndexOf('_') + 1, -6));

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `key` with `secret` as its secret part and a checksum that matches (the documented format), so it reaches the HMAC comparison. */
export function withSecret(key: string, secret: string): string {
  const body = `${key.slice(0, key.lastIndexOf('_') + 1)}${secret}`;
  let n = createHash('sha256').update(body, 'utf8').digest().readUIntBE(0, 6) % 62 ** 6;
  let checksum = '';
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[n % 62] + checksum;
    n = Math.floor(n / 62);
  }
  return body + checksum;
}

/** How a request presents (or fails to present) an API key. */
export type Credential = { kind: 'valid'; key: ValidKey } | { kind: 'refused'; what: string };

/** One request as bytes go out, with what the oracle needs to know about it. */
export interface FuzzRequest {
  readonly method: string;
  readonly target: string;
  readonly version: 'HTTP/1.1' | 'HTTP/1.0';
  readonly headers: readonly (readonly [string, string])[];
  readonly credential: Credential;
  /** Which route a well-formed target names; `other` for anything else (traversal, unknown paths). */
  readonly route: 'orders' | 'admin' | 'health' | 'other';
  /** The id the app must echo, or undefined when it must make one (absent, duplicated, or not a plain token). */
  readonly echoedId: string | undefined;
  /** Bytes Node's parser refuses (400 before any app code). Headers over its 16 KiB limit (431) are judged by size. */
  readonly malformed: boolean;
  /** The body (sent with its Content-Length), or undefined for none. */
  readonly body: string | undefined;
  /** A body the frameworks' body parsers read (JSON, form, or an encoding): they may refuse it (400, 413, 415) before any guard. */
  readonly parsedBody: boolean;
}

/** The request line and header lines (what Node's 16 KiB limit is about). */
export function requestHead(req: FuzzRequest): string {
  const length = req.body === undefined ? '' : `Content-Length: ${Buffer.byteLength(req.body, 'latin1')}\r\n`;
  return `${req.method} ${req.target} ${req.version}\r\n${req.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}${length}Connection: close\r\n\r\n`;
}

export function requestBytes(req: FuzzRequest): Buffer {
  return Buffer.from(requestHead(req) + (req.body ?? ''), 'latin1');
}

/** A readable one-line account of a request, for fast-check's counterexample. */
export function describeRequest(req: FuzzRequest): string {
  const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 100)}…(${s.length} chars)` : s);
  return JSON.stringify({ ...req, target: clip(req.target), body: req.body === undefined ? undefined : clip(req.body), headers: req.headers.map(([n, v]) => `${n}: ${clip(v)}`), credential: req.credential.kind === 'valid' ? `valid ${req.credential.key.name}` : `refused: ${req.credential.what}` });
}

// --- characters and values ---------------------------------------------------------------

const charOf = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));
/** What a header value may hold (RFC 9110 field-vchar, SP, HTAB, obs-text). */
const fieldChar = fc.oneof({ weight: 6, arbitrary: charOf(0x20, 0x7e) }, { weight: 3, arbitrary: charOf(0x80, 0xff) }, { weight: 1, arbitrary: fc.constant('\t') });
/** What no header value may hold (CR and LF left out: they would end the line instead). */
const controlChar = fc.oneof(charOf(0x00, 0x08), charOf(0x0e, 0x1f), fc.constantFrom('\x0b', '\x0c', '\x7f'));
const fieldText = (maxLength: number) => fc.string({ unit: fieldChar, maxLength });
/** UTF-8 text as the bytes it is sent as (emoji, combining marks, CJK), and raw invalid sequences. */
const utf8Bytes = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
  fc.constantFrom('\xc0\xae\xc0\xaf', '\xe0\x80\xae', '\xf0\x80\x80\xaf', '\xed\xa0\x80', '\xff\xfe', '\xc3', '\x80\x80'),
);
const ows = fc.constantFrom('', ' ', '\t', '  ', ' \t');

interface Value {
  readonly text: string;
  readonly malformed: boolean;
}
const ok = (text: string): Value => ({ text, malformed: false });

/** A value no key ring knows, carrying the marker: short, non-UTF-8, long, over 16 KiB, or with a control byte. */
const garbage: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fieldText(40), fieldText(40)).map(([a, b]) => ok(`${a}${MARKER}${b}`)) },
  { weight: 2, arbitrary: fc.tuple(utf8Bytes, utf8Bytes).map(([a, b]) => ok(`${a}${MARKER}${b}`)) },
  { weight: 2, arbitrary: fc.tuple(fieldChar, fc.integer({ min: 1000, max: 8000 })).map(([c, n]) => ok(`${MARKER}${c.repeat(n)}x`)) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 40_000 }).map((n) => ok(`${MARKER}${'k'.repeat(n)}`)) },
  { weight: 1, arbitrary: fc.tuple(fieldText(20), controlChar).map(([a, c]) => ({ text: `${MARKER}${a}${c}z`, malformed: true })) },
);

/** `key` with one character changed: caught by the checksum, or (checksum fixed up) by the HMAC comparison. */
const flipped = (key: string): fc.Arbitrary<{ text: string; what: string }> =>
  fc.oneof(
    fc.tuple(fc.nat(key.length - 1), charOf(0x21, 0x7e)).filter(([i, c]) => key[i] !== c).map(([i, c]) => ({ text: key.slice(0, i) + c + key.slice(i + 1), what: `flipped at ${i}` })),
    fc.tuple(fc.nat(42), fc.constantFrom(...BASE62)).map(([i, c]) => {
      const secret = key.slice(key.lastIndexOf('_') + 1, -6);
      const changed = secret.slice(0, i) + (secret[i] === c ? (c === 'a' ? 'b' : 'a') : c) + secret.slice(i + 1);
      return { text: withSecret(key, changed), what: `secret changed at ${i}, checksum fixed` };
    }),
  );

const apiKeyName = fc.constantFrom('X-API-Key', 'x-api-key', 'X-API-KEY', 'x-Api-kEY');
const bearer = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR');

// --- credentials -------------------------------------------------------------------------------

interface Presented {
  readonly headers: (readonly [string, string])[];
  readonly credential: Credential;
  readonly malformed: boolean;
}

/** A valid key, presented once, as `X-API-Key` or a bearer token, with optional whitespace Node trims. */
const validPresentation = (keys: FuzzKeyRing): fc.Arbitrary<Presented> =>
  fc.tuple(fc.constantFrom(...keys.valid), fc.boolean(), apiKeyName, bearer, fc.constantFrom(' ', '  ', '   '), ows, ows).map(([key, asBearer, name, scheme, gap, before, after]) => ({
    headers: [asBearer ? (['Authorization', `${before}${scheme}${gap}${key.key}${after}`] as const) : ([name, `${before}${key.key}${after}`] as const)],
    credential: { kind: 'valid', key },
    malformed: false,
  }));

const refused = (what: string, headers: (readonly [string, string])[], value: Partial<Value> = {}): Presented => ({
  headers,
  credential: { kind: 'refused', what },
  malformed: value.malformed ?? false,
});

/** Everything that must not pass: no key, garbage, refused keys, typos, and valid keys presented wrongly. */
const refusedPresentation = (keys: FuzzKeyRing): fc.Arbitrary<Presented> => {
  const anyValid = fc.constantFrom(...keys.valid.map((k) => k.key));
  const nonBearer = fc.constantFrom('Basic', 'Digest', 'Token', 'ApiKey', 'Negotiate', 'Bearer,', 'Bearer:', 'Bearerx');
  return fc.oneof(
    fc.constant(refused('no key', [])),
    garbage.chain((v) => apiKeyName.map((name) => refused('garbage in X-API-Key', [[name, v.text]], v))),
    fc.tuple(garbage, bearer).map(([v, scheme]) => refused('garbage bearer token', [['Authorization', `${scheme} ${v.text}`]], v)),
    fc.tuple(garbage, nonBearer).map(([v, scheme]) => refused(`garbage ${scheme} credentials`, [['Authorization', `${scheme} ${v.text}`]], v)),
    garbage.map((v) => refused('garbage Authorization', [['Authorization', v.text]], v)),
    fc.tuple(fc.constantFrom(...Object.entries(keys.refused)), fc.boolean()).map(([[what, key], asBearer]) =>
      refused(`${what} key`, [asBearer ? ['Authorization', `Bearer ${key}`] : ['X-API-Key', key]]),
    ),
    anyValid.chain((key) => fc.tuple(flipped(key), fc.boolean())).map(([{ text, what }, asBearer]) =>
      refused(what, [asBearer ? ['Authorization', `Bearer ${text}`] : ['X-API-Key', text]]),
    ),
    fc.tuple(anyValid, nonBearer, fc.boolean()).map(([key, scheme, encoded]) =>
      refused(`valid key as ${scheme}`, [['Authorization', `${scheme} ${encoded ? Buffer.from(`${key}:`).toString('base64') : key}`]]),
    ),
    fc.tuple(anyValid, bearer).map(([key, scheme]) => refused('valid key glued to the scheme', [['Authorization', `${scheme}${key}`]])),
    fc.tuple(anyValid, bearer).map(([key, scheme]) => refused('valid key after a tab', [['Authorization', `${scheme}\t${key}`]])),
    fc.tuple(anyValid, apiKeyName, apiKeyName).map(([key, a, b]) => refused('valid key sent twice in X-API-Key', [[a, key], [b, key]])),
    fc.tuple(anyValid, garbage.filter((v) => !v.malformed && v.text.length < 8000), fc.boolean()).map(([key, v, first]) =>
      refused('valid key beside garbage in X-API-Key', first ? [['X-API-Key', key], ['X-API-Key', v.text]] : [['X-API-Key', v.text], ['X-API-Key', key]]),
    ),
    fc.tuple(anyValid, fc.constantFrom('', 'nope', `${MARKER}`)).map(([key, own]) =>
      refused('X-API-Key wins over a valid bearer token', [['X-API-Key', own], ['Authorization', `Bearer ${key}`]]),
    ),
    fc.tuple(anyValid, fc.constantFrom('x', ' x', '\xe9', '_', '=', `,${MARKER}`), fc.boolean()).map(([key, extra, before]) =>
      refused('valid key with extra characters', [['X-API-Key', before ? `${extra.trim()}${key}` : `${key}${extra}`]]),
    ),
    anyValid.map((key) => refused('valid key upper-cased', [['X-API-Key', key.toUpperCase()]])),
    fc.tuple(anyValid, fc.nat(60)).map(([key, i]) => refused('valid key cut short', [['X-API-Key', key.slice(0, Math.min(i, key.length - 1))]])),
  );
};

// --- the rest of the request ---------------------------------------------------------------------

const requestIdChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-');
interface RequestId {
  readonly headers: (readonly [string, string])[];
  readonly echoed: string | undefined;
}
const requestId: fc.Arbitrary<RequestId> = fc.oneof(
  fc.constant<RequestId>({ headers: [], echoed: undefined }),
  fc.tuple(fc.string({ unit: requestIdChar, minLength: 1, maxLength: 128 }), ows).map(([id, pad]) => ({ headers: [['X-Request-ID', `${pad}${id}${pad}`] as const], echoed: id })),
  fc.integer({ min: 129, max: 4000 }).map((n) => ({ headers: [['X-Request-ID', `${MARKER}${'r'.repeat(n)}`] as const], echoed: undefined })),
  fc.tuple(fieldText(30), fc.constantFrom(' ', '/', '<', '"', ',', '\xe9', '\t'), fieldText(30)).map(([a, bad, b]) => ({
    headers: [['x-request-id', `${MARKER}${a}${bad}${b}x`] as const],
    echoed: undefined,
  })),
  fc.tuple(fc.string({ unit: requestIdChar, minLength: 1, maxLength: 20 }), fc.string({ unit: requestIdChar, minLength: 1, maxLength: 20 })).map(([a, b]) => ({
    headers: [['X-Request-ID', a] as const, ['X-Request-Id', b] as const],
    echoed: undefined, // joined as "a, b": not a plain token
  })),
);

const RESERVED = new Set(['host', 'content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'x-api-key', 'authorization', 'x-request-id', 'te', 'trailer']);
const tokenChar = fc.constantFrom(..."!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
interface Noise {
  readonly header: readonly [string, string];
  readonly malformed: boolean;
}
/** Headers that change nothing but the bytes: user agents (HMAC'd in the audit), proxies, odd names, a second Host. */
const noise: fc.Arbitrary<Noise> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fieldText(40), fieldText(40)).map(([a, b]) => ({ header: ['User-Agent', `${a}${MARKER}${b}`] as const, malformed: false })) },
  { weight: 2, arbitrary: fc.constantFrom('203.0.113.7', '127.0.0.1, 10.0.0.1', 'unknown', '::1', `${MARKER}`).map((v) => ({ header: ['X-Forwarded-For', v] as const, malformed: false })) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.string({ unit: tokenChar, minLength: 1, maxLength: 20 }), fc.oneof(fieldText(60), utf8Bytes))
      .filter(([name]) => !RESERVED.has(name.toLowerCase()))
      .map(([name, value]) => ({ header: [name, value] as const, malformed: false })),
  },
  { weight: 1, arbitrary: fc.constantFrom('evil.example', '127.0.0.1', '') .map((v) => ({ header: ['Host', v] as const, malformed: false })) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom('X K', 'X(K)', 'X/K', 'X@K', 'X\xe9K', 'X[K]').map((name) => ({ header: [name, 'v'] as const, malformed: true })),
      fc.constant({ header: ['Content-Length', '1\r\nContent-Length: 2'] as const, malformed: true }),
    ),
  },
);

const TRAVERSAL = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '..%2f..', '..%2F', '%2f', '%5c', '..%5c', '..\\..', '%00', '%c0%ae%c0%ae', '%c0%af', '%e0%80%ae', '%25%32%65', '%ff', '%', '%zz', '%u002e', 'etc', 'passwd', '.env', 'orders', 'admin', 'health', '.', '', ';', 'a;b=..', '%0d%0a', '%0a', '%20'];
interface Target {
  readonly target: string;
  readonly route: FuzzRequest['route'];
  readonly malformed: boolean;
}
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: requestIdChar.filter((c) => c !== ':' && c !== '.'), minLength: 1, maxLength: 12 }).map((id) => ({ target: `/orders/${id}`, route: 'orders' as const, malformed: false })) },
  { weight: 1, arbitrary: fc.constant({ target: '/admin', route: 'admin' as const, malformed: false }) },
  { weight: 1, arbitrary: fc.constant({ target: '/health', route: 'health' as const, malformed: false }) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom('/', '/orders/', '/admin/', '/health/', '//', '/orders/1/', 'http://evil.example/orders/', '/static/'), fc.array(fc.constantFrom(...TRAVERSAL), { minLength: 1, maxLength: 8 }), fc.option(fc.constantFrom('?file=../../etc/passwd', '?x=%00', '?%2e%2e', '#x')))
      .map(([prefix, segments, query]) => ({ target: `${prefix}${segments.join('/')}${query ?? ''}`, route: 'other' as const, malformed: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer({ min: 100, max: 3000 }), fc.integer({ min: 4000, max: 6000 }))
      .map((n) => ({ target: `/orders/${'..%2f'.repeat(n)}etc/passwd`, route: 'other' as const, malformed: false })),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.tuple(utf8Bytes.filter((s) => /[\x80-\xff]/.test(s)), fc.boolean()).map(([bytes, orders]) => ({ target: `${orders ? '/orders/' : '/'}${bytes}`, route: 'other' as const, malformed: true })),
      controlChar.map((c) => ({ target: `/orders/1${c}`, route: 'other' as const, malformed: true })),
    ),
  },
  { weight: 1, arbitrary: fc.constant({ target: '*', route: 'other' as const, malformed: false }) },
);

interface Body {
  readonly headers: (readonly [string, string])[];
  readonly body: string | undefined;
  readonly parsed: boolean;
}
const PARSED_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-7', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=koi8-r', 'application/vnd.api+json'];
/** Bodies for the body parsers: broken JSON, deep nesting, prototype keys, form garbage, bad encodings, over the 100 KB limit. */
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Body>({ headers: [], body: undefined, parsed: false }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom(...PARSED_TYPES), fc.constantFrom('text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/json;;', '\xe9/\xe9')),
        fc.oneof(
          fc.constantFrom('{', '{"a":', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', 'null', '"x"', '[]', 'a=%zz&b[c][d]=1&__proto__[x]=1', '\xff\xfe{\x00}', '\xef\xbb\xbf{}'),
          fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
          fc.integer({ min: 1, max: 5_000 }).map((n) => `${'a[b]'.repeat(n)}=1`),
          fc.integer({ min: 100_001, max: 130_000 }).map((n) => `"${'x'.repeat(n)}"`),
          fc.oneof(fieldText(200), utf8Bytes),
        ),
        fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip')),
      )
      .map(([type, text, encoding]) => ({
        headers: [['Content-Type', type] as const, ...(encoding === null ? [] : [['Content-Encoding', encoding] as const])],
        body: text,
        parsed: encoding !== null || /json|urlencoded/.test(type),
      })),
  },
);

const method = fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constant('HEAD') }, { weight: 3, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND') });

/** A whole request: method, target, credential (valid in about a third of them), request id, noise, in shuffled header order. */
export function fuzzRequest(keys: FuzzKeyRing): fc.Arbitrary<FuzzRequest> {
  const credential = fc.oneof({ weight: 1, arbitrary: validPresentation(keys) }, { weight: 2, arbitrary: refusedPresentation(keys) });
  return fc
    .record({
      method,
      target,
      http10: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      noHost: fc.oneof({ weight: 39, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      credential,
      requestId,
      noise: fc.array(noise, { maxLength: 3 }),
      body,
    })
    .chain((r) => {
      const headers = [...r.credential.headers, ...r.requestId.headers, ...r.noise.map((n) => n.header), ...r.body.headers];
      return fc.shuffledSubarray(headers, { minLength: headers.length, maxLength: headers.length }).map((shuffled) => {
        const missingHost = r.noHost && !r.http10 && !r.noise.some((n) => n.header[0] === 'Host');
        const withHost: (readonly [string, string])[] = r.noHost ? shuffled : [['Host', '127.0.0.1'], ...shuffled];
        const req: FuzzRequest = {
          method: r.method,
          target: r.target.target,
          version: r.http10 ? ('HTTP/1.0' as const) : ('HTTP/1.1' as const),
          headers: withHost,
          credential: r.credential.credential,
          route: r.target.route,
          echoedId: r.requestId.echoed,
          malformed: r.target.malformed || r.credential.malformed || r.noise.some((n) => n.malformed) || missingHost || r.body.headers.some(([, v]) => /[^\t\x20-\x7e\x80-\xff]/.test(v)),
          body: r.body.body,
          parsedBody: r.body.parsed,
        };
        // fast-check prints this in a counterexample instead of the (possibly 40 KB) strings.
        return Object.assign(req, { [fc.toStringMethod]: () => describeRequest(req) });
      });
    });
}
