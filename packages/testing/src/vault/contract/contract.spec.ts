import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../../embedded-postgres.js';
import { serviceAccountJwt } from '../spec-support.js';
import { startVaultDevServer } from '../vault-dev-server.js';

/**
 * Contract tests: every fixture holds a sample from Vault's API documentation (or, where the
 * docs show none, the shape its source code builds), the request that produced it, and how to
 * compare. The dev server must answer with the same status, the same keys at every level and the
 * same JSON types; ids, times and secrets differ.
 */

interface Step {
  method: string;
  path: string;
  body: unknown;
  rawBody?: string;
  token: string;
  headers?: Record<string, string>;
  capture?: Record<string, string>;
}

interface Fixture {
  title: string;
  source: { repository: string; path: string; section: string; kind: string };
  needs?: string[];
  setup: Step[];
  request: Step;
  response: { status: number; body?: unknown };
  compare: {
    mode: 'exact' | 'subset';
    envelope: 'documented' | 'elided';
    sysInjected: boolean;
    exactValues: boolean;
    knownDifferences: Array<{ path: string; reason: string }>;
  };
}

const FIXTURES = join(process.cwd(), 'packages/testing/src/vault/contract/fixtures');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, fixture: JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture }));

/** The envelope keys and types the docs leave out when they show `data` only. */
const ENVELOPE: Record<string, unknown> = {
  request_id: '',
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data: null,
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: '',
};

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function expectedBody(fx: Fixture): unknown {
  const doc = fx.response.body as Record<string, unknown>;
  if (fx.compare.envelope !== 'elided') return doc;
  const wrapped = ['data', 'auth', 'request_id'].some((k) => k in doc);
  const data = wrapped ? (doc.data ?? null) : doc;
  const base = { ...ENVELOPE, ...(wrapped ? doc : { data: doc }) };
  return fx.compare.sysInjected && data && typeof data === 'object' ? { ...(data as object), ...base } : base;
}

/** Shape differences between a documented value and an actual one (keys at every level, JSON types). */
function shapeDifferences(doc: unknown, actual: unknown, mode: 'exact' | 'subset', skip: readonly string[], path = '$'): string[] {
  const skipped = (p: string) => skip.some((s) => new RegExp(`^${s.replace(/[.$[\]]/g, '\\$&').replace(/\*/g, '[^.]+')}$`).test(p));
  if (skipped(path)) return [];
  if (kind(doc) !== kind(actual)) return [`${path}: documented ${kind(doc)}, got ${kind(actual)}`];
  const out: string[] = [];
  if (kind(doc) === 'object') {
    const d = doc as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const k of Object.keys(d)) {
      if (!(k in a)) {
        if (!skipped(`${path}.${k}`)) out.push(`${path}.${k}: documented, missing`);
      } else out.push(...shapeDifferences(d[k], a[k], mode, skip, `${path}.${k}`));
    }
    if (mode === 'exact') for (const k of Object.keys(a)) if (!(k in d) && !skipped(`${path}.${k}`)) out.push(`${path}.${k}: not documented`);
  } else if (kind(doc) === 'array') {
    const d = doc as unknown[];
    const a = actual as unknown[];
    if (d.length > 0 && a.length > 0) out.push(...shapeDifferences(d[0], a[0], mode, skip, `${path}[]`));
  }
  return out;
}

describe('Vault HTTP API contract (documented samples)', () => {
  let postgres: RunningPostgres;
  const vars: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    Object.assign(vars, { 'pg.port': String(postgres.port), 'pg.database': postgres.database, 'pg.user': postgres.user, 'pg.password': postgres.password });
    vars.serviceAccountJwt = serviceAccountJwt({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': 'default',
      'kubernetes.io/serviceaccount/secret.name': 'vault-auth-token-pd21c',
      'kubernetes.io/serviceaccount/service-account.name': 'vault-auth',
      'kubernetes.io/serviceaccount/service-account.uid': 'aa9aa8ff-98d0-11e7-9bb7-0800276d99bf',
      sub: 'system:serviceaccount:default:vault-auth',
    });
  }, 60_000);

  afterAll(async () => {
    await postgres?.stop();
  });

  it('has fixtures for every documented area', () => {
    const prefixes = new Set(fixtures.map((f) => f.file.split('-')[0]));
    for (const area of ['kv', 'database', 'leases', 'sys', 'token', 'approle', 'kubernetes', 'policies', 'transit', 'error']) expect(prefixes).toContain(area);
  });

  it.each(fixtures)('$file', async ({ fixture }) => {
    const server = await startVaultDevServer();
    try {
      const local: Record<string, string> = { ...vars, unsealKey: server.unsealKey };
      const fill = (text: string) => text.replace(/\$\{([\w.]+)\}/g, (whole, name: string) => local[name] ?? whole);
      const send = async (step: Step) => {
        const headers: Record<string, string> = { ...(step.headers ?? { 'Content-Type': 'application/json' }) };
        const token = step.token === 'root' ? server.rootToken : step.token === 'none' ? undefined : fill(step.token);
        if (token) headers['X-Vault-Token'] = token;
        const body = step.rawBody ?? (step.body === null || step.body === undefined ? undefined : fill(JSON.stringify(step.body)));
        const res = await fetch(server.url + fill(step.path), { method: step.method, headers, body });
        const text = await res.text();
        return { status: res.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
      };
      for (const step of fixture.setup) {
        const res = await send(step);
        if (res.status >= 300) throw new Error(`setup ${step.method} ${step.path} answered ${res.status}: ${res.text}`);
        for (const [name, path] of Object.entries(step.capture ?? {})) {
          local[name] = String(path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], res.json));
        }
      }
      const res = await send(fixture.request);
      expect({ status: res.status }).toEqual({ status: fixture.response.status });
      if (fixture.response.body === undefined) {
        expect(res.text).toBe('');
        return;
      }
      if (fixture.compare.exactValues) {
        expect(res.json).toEqual(fixture.response.body);
        return;
      }
      const skip = fixture.compare.knownDifferences.map((d) => d.path);
      expect(shapeDifferences(expectedBody(fixture), res.json, fixture.compare.mode, skip)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
