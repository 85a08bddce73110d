// What the runner asks of a booted consumer app, over real HTTP on 127.0.0.1, and what it checks
// afterwards in the app's audit file. Every app answers the same routes:
//   GET /          public: { service, stripeKey: '[secret stripeKey@<version>]' }
//   GET /charges   needs an API key with the `charges:read` scope: { client, signature }
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StepFailure } from './processes.mjs';

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `GET /` answers (the app has loaded its secrets and listens), or the app ends. */
export async function waitUntilServing(base, app, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let ended;
  app.exited.then((result) => (ended = result));
  while (Date.now() < deadline) {
    if (ended) throw new StepFailure(`the app ended before serving (${ended.signal ?? `exit ${ended.code}`})`, app.output());
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new StepFailure(`the app did not answer GET / within ${timeoutMs / 1000} s`, app.output());
}

async function get(base, path, headers = {}) {
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // Everything the client saw, for the canary check.
  const seen = `${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`;
  return { status: res.status, headers: res.headers, body, seen };
}

/**
 * The public route, the protected one without and with the key; throws on the first answer that
 * is not what a user of the README expects. Returns what was seen and the request ids.
 */
export async function checkRequests(base, apiKey) {
  const seen = [];
  const expect = (ok, what, res) => {
    seen.push(res.seen);
    if (!ok) throw new StepFailure(`${what}: got\n${res.seen}`);
  };
  const home = await get(base, '/');
  expect(home.status === 200 && /^\[secret stripeKey@.+\]$/.test(home.body?.stripeKey ?? ''), 'GET / should be 200 with the redacted stripeKey', home);
  const refused = await get(base, '/charges');
  expect(
    refused.status === 401 && (refused.headers.get('www-authenticate') ?? '').includes('ApiKey') && refused.body?.error?.code === 'API_KEY_MISSING',
    'GET /charges without a key should be 401 API_KEY_MISSING with WWW-Authenticate',
    refused,
  );
  const served = await get(base, '/charges', { 'X-API-Key': apiKey });
  expect(served.status === 200 && served.body?.client === 'partner', 'GET /charges with the key should be 200 for client "partner"', served);
  return { seen, refusedId: refused.headers.get('x-request-id'), servedId: served.headers.get('x-request-id') };
}

/**
 * The app's audit file after it stopped: the chain verifies (with the @keyward/core the app
 * installed), and both /charges requests have their record. Returns the file's text and count.
 */
export async function checkAuditFile(appDir, file, auditKey, { refusedId, servedId }) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StepFailure(`no audit file at ${file}: ${err.message}`);
  }
  const records = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
  const core = createRequire(join(appDir, 'package.json'))('@keyward/core');
  const verification = await core.verifyAuditFile(file, auditKey);
  if (!verification.ok) throw new StepFailure(`the audit chain does not verify: ${JSON.stringify(verification.break)}`, text);
  const find = (id) => records.find((r) => r.event === 'http.request' && r.request?.id === id);
  const refused = find(refusedId);
  const served = find(servedId);
  if (refused?.request?.status !== 401 || refused.outcome !== 'denied' || refused.error?.code !== 'API_KEY_MISSING') {
    throw new StepFailure(`no denied http.request record with status 401 for request ${refusedId}`, text);
  }
  if (served?.request?.status !== 200 || served.request.route !== '/charges' || served.actor?.type !== 'api-key' || served.actor.client !== 'partner') {
    throw new StepFailure(`no http.request record of the API key's 200 on /charges for request ${servedId}`, text);
  }
  return { text, records: records.length };
}

/** Throws if any of the planted values appears in any of the texts (named by where it was seen). */
export function checkNoSecretIn(values, texts) {
  for (const [where, text] of Object.entries(texts)) {
    for (const [name, value] of Object.entries(values)) {
      if (text.includes(value)) throw new StepFailure(`the ${name} value appears in ${where}`, text);
    }
  }
}
