// NestJS 12 (platform-express) on the same handler, three apps side by side in one process:
//   - bare: a controller and nothing else (the baseline);
//   - api-keys: KeywardModule.forRoot({ apiKeys }) with its global ApiKeyGuard, every request
//     carrying a valid key for the route's @RequireScopes;
//   - audit: KeywardModule.forRoot({ audit }) with its middleware and AuditInterceptor, one sealed,
//     chained record per request in a file (counted and the chain verified afterwards).
// The load comes from autocannon in a worker thread. Apps run interleaved, ROUNDS times, each with
// its own warm-up; values are medians, ratios the median of per-round ratios.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, emptyKeyRing, envProvider, verifyAuditFile } from '@keyward/core';
import { KeywardModule, RequireScopes } from '@keyward/nestjs';
import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { autocannon, type Sample } from './http-load.js';
import { median, report, round } from './report.js';

const CONNECTIONS = 32;
const WARMUP_S = 1;
const DURATION_S = 3;
const ROUNDS = 7;
const SCOPE = 'reports:read';

/** Requests each app's handler served. */
const served = new Map<AppName, number>();

/** The same handler in each app, counting what it serves. */
function reportsController(name: AppName) {
  @Controller()
  class ReportsController {
    @RequireScopes(SCOPE)
    @Get('reports')
    reports() {
      served.set(name, (served.get(name) ?? 0) + 1);
      return { ok: true };
    }
  }
  return ReportsController;
}

type AppName = 'bare' | 'api-keys' | 'audit';

function moduleFor(name: AppName, env: Record<string, string>, auditFile: string): DynamicModule {
  @Module({})
  class BenchModule {}
  const keyward =
    name === 'bare'
      ? []
      : [
          KeywardModule.forRoot({
            app: 'bench',
            environment: 'bench',
            providers: { bench: envProvider({ env }) },
            secrets: { apiKeys: { format: 'json' }, apiKeyPepper: {}, auditKey: {} },
            ...(name === 'api-keys' ? { apiKeys: { ring: 'apiKeys', pepper: 'apiKeyPepper' } } : { audit: { key: 'auditKey', service: 'bench', file: auditFile } }),
          }),
        ];
  return { module: BenchModule, imports: keyward, controllers: [reportsController(name)] };
}

async function load(url: string, key: string, duration: number): Promise<Sample> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers: { 'x-api-key': key }, workers: 1 });
  const unexpected = Object.keys(result.statusCodeStats).filter((status) => status !== '200');
  if (result.errors !== 0 || result.timeouts !== 0 || unexpected.length > 0 || result.requests.total === 0) {
    throw new Error(`nest bench: ${url} expected only 200 answers, got ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.average, p99: result.latency.p99 };
}

export async function run(): Promise<void> {
  const pepper = randomBytes(32).toString('hex');
  let ring = emptyKeyRing();
  let key = '';
  for (let i = 0; i < 1000; i++) {
    const created = createApiKey(ring, { client: `client-${i}`, env: 'live', scopes: [SCOPE], pepper });
    ring = created.ring;
    if (i === 500) key = created.key;
  }
  const env = { API_KEYS: JSON.stringify(ring), API_KEY_PEPPER: pepper, AUDIT_KEY: randomBytes(32).toString('hex') };
  const dir = await mkdtemp(join(tmpdir(), 'keyward-nest-bench-'));
  const auditFile = join(dir, 'audit.jsonl');
  const apps = new Map<AppName, { app: INestApplication; url: string }>();
  let records = 0;
  try {
    for (const name of ['bare', 'api-keys', 'audit'] as const) {
      const app = await NestFactory.create(moduleFor(name, env, auditFile), { logger: false });
      await app.listen(0, '127.0.0.1');
      const port = (app.getHttpServer().address() as AddressInfo).port;
      apps.set(name, { app, url: `http://127.0.0.1:${port}/reports` });
    }
    const samples = new Map<AppName, Sample[]>([...apps.keys()].map((name) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, { url }] of apps) {
        await load(url, key, WARMUP_S);
        samples.get(name)!.push(await load(url, key, DURATION_S));
      }
    }
    // Every request the audited app answered has its record, and the chain holds.
    await apps.get('audit')!.app.close();
    apps.delete('audit');
    const lines = (await readFile(auditFile, 'utf8')).trim().split('\n').filter((line) => line.includes('"event":"http.request"'));
    records = lines.length;
    if (records !== served.get('audit')) throw new Error(`nest bench: ${records} audit records for ${served.get('audit')} requests served`);
    const verification = await verifyAuditFile(auditFile, env.AUDIT_KEY);
    if (!verification.ok) throw new Error('nest bench: the audit chain does not verify');

    const pick = { rps: (s: Sample) => s.rps, p99: (s: Sample) => s.p99 };
    const stat = (name: AppName, metric: 'rps' | 'p99') => median(samples.get(name)!.map(pick[metric]));
    const paired = (name: AppName, metric: 'rps' | 'p99') => round(median(samples.get(name)!.map((s, i) => pick[metric](s) / pick[metric](samples.get('bare')![i]!))), 2);
    const setup = { connections: CONNECTIONS, durationS: DURATION_S, rounds: ROUNDS, framework: 'NestJS 12, platform-express', statistic: 'median; ratios: median of per-round ratios' };
    for (const metric of ['rps', 'p99'] as const) {
      const unit = metric === 'rps' ? 'requests/s' : 'ms';
      report({ name: `nest.bare.${metric}`, unit, value: round(stat('bare', metric), 1), comparison: { against: 'baseline: the same controller, no Keyward', ...setup } });
      report({
        name: `nest.api-keys.guard.${metric}`,
        unit,
        value: round(stat('api-keys', metric), 1),
        comparison: { against: 'bare Nest, same handler', bare: round(stat('bare', metric), 1), ratio: paired('api-keys', metric), ringKeys: ring.keys.length, ...setup },
      });
      report({
        // The name issue 14 gave this line; the module now decides per route in AuditGuard, not an interceptor.
        name: `nest.audit.interceptor.${metric}`,
        unit,
        value: round(stat('audit', metric), 1),
        comparison: { against: 'bare Nest, same handler', bare: round(stat('bare', metric), 1), ratio: paired('audit', metric), records, requests: served.get('audit'), recordsEqualRequests: true, chainVerified: true, ...setup },
      });
    }
  } finally {
    for (const { app } of apps.values()) await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}
