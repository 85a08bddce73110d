import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseKeyRing, SecretStore } from '@keyward/core';
import { demoStatus, type DemoSecrets } from '@keyward/demo-shared';
import { waitFor } from '@keyward/test-support';
import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DemoApp } from '../apps/demo-express/src/app.js';
import { runDemos, type RunningDemos } from './support/running-demos.js';

// The status page and /metrics of both demos as `pnpm demo` runs them (Vault's database engine
// over a real PostgreSQL), with credentials that live 2 s (at most 4 s) so that the pool switches
// generations while the page is open in Debian's Chromium.
/** Debian's `chromium` package (`.ci/run` installs it when missing); KEYWARD_CHROMIUM names another Chromium or Chrome. */
const CHROMIUM = process.env['KEYWARD_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), 'artifacts', 'status-page.png');
const INSTRUMENTS = ['keyward_secret_age_seconds', 'keyward_lease_remaining_seconds', 'keyward_pool_connections', 'keyward_api_key_verifications_total', 'keyward_audit_records_total'];

describe('status page and metrics of the demos on Vault and PostgreSQL', () => {
  let demos: RunningDemos;
  let express: DemoApp;
  let nest: INestApplication;
  let browser: Browser;
  let base: string;
  let nestBase: string;
  /** Every secret value either app has held (the database's, each time it rotated), and the API keys. */
  const canaries = new Set<string>();

  beforeAll(async () => {
    demos = await runDemos({ credentialsTtl: '2s', credentialsMaxTtl: '4s' });
    ({ express, nest, expressBase: base, nestBase } = demos);
    for (const store of [express.store, demos.nestStore]) {
      for (const value of valuesOf(store)) canaries.add(value);
      store.on('rotated', () => valuesOf(store).forEach((value) => canaries.add(value)));
    }

    // A client still on its previous key: created, rotated with a grace, then called once with the old key.
    const old = (await demos.cli.run('api-keys', 'create', '--client', 'tester', '--scopes', 'sign')).stdout.trim();
    await waitFor(() => ringHolds(express, old), 5000, 'the new key in the ring');
    const fresh = (await demos.cli.run('api-keys', 'rotate', '--client', 'tester', '--grace', '1h')).stdout.trim();
    await waitFor(() => ringHolds(express, fresh), 5000, 'the rotated ring');
    canaries.add(old).add(fresh);
    for (const key of [old, fresh]) expect((await fetch(`${base}/sign/hello`, { headers: { 'x-api-key': key } })).status).toBe(200);

    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does) or set KEYWARD_CHROMIUM to a Chromium or Chrome binary`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await demos?.close();
  }, 30_000);

  it('shows every secret, the pool switching generations during a rotation, the clients in grace and the audit head, in Chromium with no error', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    try {
      await page.goto(`${base}/status`, { timeout: 10_000 });
      await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 5000 });
      await page.getByTestId('secret-database').waitFor({ timeout: 5000 });
      for (const name of express.store.names) await expect(page.getByTestId(`secret-${name}`).textContent()).resolves.toContain(name);
      // The database credentials are leased: a bar counts down to their end.
      await expect(page.getByTestId('lease-database').textContent()).resolves.toMatch(/\d+ s left of \d+ s · renewable/);

      // The active generation changes while the page is open, as the credentials rotate.
      const active = page.getByTestId('pool-generation-active');
      const before = Number(await active.getAttribute('data-generation', { timeout: 5000 }));
      expect(before).toBeGreaterThanOrEqual(1);
      await page.locator(`[data-testid="pool-generation-active"]:not([data-generation="${before}"])`).waitFor({ timeout: 20_000 });
      const after = Number(await active.getAttribute('data-generation'));
      expect(after).toBeGreaterThan(before);
      await expect(active.textContent()).resolves.toContain(`generation ${after}`);
      await page.getByTestId('pool-switches-database').waitFor({ timeout: 2000 });

      // The client on its previous key, with the time left in its grace; the audit trail's head.
      await expect(page.getByTestId('previous-key-tester').textContent()).resolves.toMatch(/tester.*1/);
      await expect(page.getByTestId('grace-tester').textContent()).resolves.toMatch(/^(59 min|1 h)/);
      await expect(page.getByTestId('audit-head').textContent()).resolves.toMatch(/^#\d+ [0-9a-f]{12}…$/);
      await expect(page.getByTestId('audit-written').textContent()).resolves.toMatch(/^[1-9]\d*$/);

      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`status page screenshot: ${relative(process.cwd(), SCREENSHOT)}`);

      const html = await page.content();
      expectNoValue({ html }, canaries);
      expect(problems).toEqual([]);
      // Nothing but the service itself: no CDN, no font, no favicon request.
      expect(requests.filter((url) => !url.startsWith(`${base}/`))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('serves the same snapshot as JSON and as server-sent events, and no value in either', async () => {
    const json = await fetch(`${base}/status.json`);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const snapshot = (await json.json()) as { secrets: { name: string }[]; pools: { name: string; active: number }[] };
    expect(snapshot.secrets.map((s) => s.name)).toEqual(express.store.names);
    expect(snapshot.pools).toEqual([expect.objectContaining({ name: 'database', active: expect.any(Number) })]);
    const stream = await serverSentEvents(`${base}/status/events`, 2);
    expect(JSON.parse(stream.events[0]!)).toMatchObject({ service: 'keyward demo (express)', secrets: expect.any(Array) });
    expectNoValue({ json: JSON.stringify(snapshot), events: stream.text }, canaries);
  }, 20_000);

  it('ends an event stream\'s timer when its client goes away', async () => {
    let snapshots = 0;
    const status = demoStatus({ service: 'counted', store: { health: () => (snapshots++, express.store.health()) } }, { intervalMs: 100 });
    const server = await listen((req, res) => status.events(req, res));
    try {
      await serverSentEvents(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, 3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = snapshots;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(snapshots).toBe(after);
    } finally {
      status.close();
      server.close();
    }
  });

  it('lists the keyward instruments with live values on GET /metrics, and no value', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const samples = prometheusSamples(text);
    for (const name of INSTRUMENTS) expect(samples.filter((s) => s.name === name).length).toBeGreaterThan(0);
    const one = (name: string, label: string) => samples.find((s) => s.name === name && s.labels.includes(label));
    expect(one('keyward_secret_age_seconds', 'keyward_secret_name="sessionSecret"')!.value).toBeGreaterThanOrEqual(0);
    expect(one('keyward_lease_remaining_seconds', 'keyward_secret_name="database"')!.value).toBeGreaterThan(0);
    // The pool switched during the first test: the histogram holds it, under its Prometheus name.
    expect(one('keyward_pool_switch_duration_seconds_count', 'db_client_connection_pool_name="database"')!.value).toBeGreaterThanOrEqual(1);
    expect(samples.filter((s) => s.name === 'keyward_pool_connections').reduce((sum, s) => sum + s.value, 0)).toBeGreaterThan(0);
    expect(one('keyward_api_key_verifications_total', 'keyward_api_key_result="previous"')!.value).toBeGreaterThanOrEqual(1);
    expect(one('keyward_api_key_verifications_total', 'keyward_api_key_result="current"')!.value).toBeGreaterThanOrEqual(1);
    expect(one('keyward_audit_records_total', 'keyward_audit_outcome="written"')!.value).toBeGreaterThan(0);
    expectNoValue({ metrics: text }, canaries);
  });

  it('serves /status, /status.json and /metrics on the Nest demo too, without an API key', async () => {
    const page = await fetch(`${nestBase}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('data-testid="secrets"');
    const snapshot = (await (await fetch(`${nestBase}/status.json`)).json()) as { service: string; secrets: { name: string }[] };
    expect(snapshot.service).toBe('keyward demo (nest)');
    expect(snapshot.secrets.map((s) => s.name)).toEqual(nest.get(SecretStore).names);
    const stream = await serverSentEvents(`${nestBase}/status/events`, 1);
    const metrics = await (await fetch(`${nestBase}/metrics`)).text();
    const names = new Set(prometheusSamples(metrics).map((s) => s.name));
    for (const name of INSTRUMENTS) expect(names).toContain(name);
    expectNoValue({ html, json: JSON.stringify(snapshot), events: stream.text, metrics }, canaries);
  }, 20_000);
});

/** Every secret value a store holds now; a secret with no rule here fails the test, rather than go unchecked. */
function valuesOf(store: SecretStore<DemoSecrets>): string[] {
  return store.names.flatMap((name) => {
    const value: unknown = store.get(name as keyof DemoSecrets).reveal();
    if (typeof value === 'string') return [value];
    if (name === 'database') {
      const { username, password } = value as { username: string; password: string };
      return [username, password];
    }
    // The ring's client names and key ids are not secret (they are shown on purpose); its hashes are.
    if (name === 'apiKeys') return parseKeyRing(value).keys.map((entry) => entry.hmac);
    // The HTTPS certificate from Vault PKI: each base64 line of its key and certificate (a line shows even JSON-escaped).
    if (name === 'tls') {
      const { private_key, certificate } = value as { private_key: string; certificate: string };
      return [private_key, certificate].flatMap((pem) => pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----')));
    }
    throw new Error(`no canary rule for the secret ${name}`);
  });
}

function expectNoValue(texts: Readonly<Record<string, string>>, values: ReadonlySet<string>): void {
  expect(values.size).toBeGreaterThan(8);
  const leaks = Object.entries(texts).flatMap(([where, text]) => [...values].filter((v) => text.includes(v)).map(() => where));
  expect(leaks).toEqual([]);
}

function ringHolds(instance: DemoApp, key: string): boolean {
  return parseKeyRing(instance.store.get('apiKeys').reveal()).keys.some((entry) => entry.keyId === key.split('_')[2]);
}

async function listen(handler: Parameters<typeof createServer>[1] & object): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Reads `count` events from a server-sent event stream, then hangs up. */
async function serverSentEvents(url: string, count: number): Promise<{ text: string; events: string[] }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events = () => [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!);
  while (events().length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return { text, events: events() };
}

/** `name{labels} value` lines of a Prometheus text exposition. */
function prometheusSamples(text: string): { name: string; labels: string; value: number }[] {
  return [...text.matchAll(/^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? (\S+)/gim)].map((m) => ({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) }));
}
