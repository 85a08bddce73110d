#!/usr/bin/env node
// Starts a demo service (default: the NestJS one) on embedded defaults: a real PostgreSQL
// (embedded) and a Vault dev server in this process, set up with KV secrets, the database
// secrets engine, the PKI engine (the app's HTTPS certificate) and an AppRole login; then the app,
// which gets only VAULT_ADDR and its AppRole ids. KEYWARD_BACKEND=aws runs it on the Secrets Manager
// emulator instead, KEYWARD_BACKEND=dotenv on its .env file (written with random values on first
// use, from the names in .env.example); both of those serve HTTP only.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2] ?? 'nest';
const appDir = join(root, 'apps', `demo-${which}`);
if (!existsSync(join(appDir, 'package.json'))) {
  console.error(`unknown demo "${which}" (try: nest, express)`);
  process.exit(2);
}
const environment = process.env.NODE_ENV ?? 'development';
const env = { ...process.env, NODE_ENV: environment };

let backends;
if (process.env.KEYWARD_BACKEND === 'dotenv') {
  writeDevelopmentEnvFile(join(appDir, '.env'));
  writeCliConfig(await writeDevelopmentKeyRing(join(appDir, '.env')));
} else if (process.env.KEYWARD_BACKEND === 'aws') {
  const { startAwsDemoBackends } = await import('@keyward/demo-shared/backends');
  backends = await startAwsDemoBackends({ environment });
  Object.assign(env, backends.env);
  writeCliConfig(backends.cliConfig);
  console.log(`Secrets Manager emulator on ${backends.secretsManager.endpoint}, PostgreSQL on 127.0.0.1:${backends.postgres.port} (embedded)`);
  // Rotate the database password every 2 minutes, as a RotationRules schedule would (the app sees it within its 10 s refresh).
  const rotations = setInterval(() => {
    backends.rotateDatabase().then(
      () => console.log(`secrets manager: rotated demo/${environment}/database (single-user Lambda)`),
      (err) => console.error(`secrets manager: rotation failed (${err.name})`),
    );
  }, 120_000);
  rotations.unref();
} else {
  const { startDemoBackends } = await import('@keyward/demo-shared/backends');
  // KEYWARD_TLS_TTL: the HTTPS certificates' lifetime (default 10m).
  backends = await startDemoBackends({ environment, ...(process.env.KEYWARD_TLS_TTL ? { tlsTtl: process.env.KEYWARD_TLS_TTL } : {}) });
  Object.assign(env, backends.env);
  writeCliConfig(backends.cliConfig);
  console.log(`vault dev server on ${backends.vault.url}, PostgreSQL on 127.0.0.1:${backends.postgres.port} (embedded), payment provider on ${backends.payments.url}`);
  // The payment provider rotates its API key every 90 s (the old one stops working at once); the app's client follows (GET /payments/ping).
  const rotations = setInterval(() => {
    backends.rotatePaymentsKey().then(
      (version) => console.log(`payment provider: rotated its API key (Vault KV secret/demo/${environment}/paymentsApiKey version ${version})`),
      (err) => console.error(`payment provider: rotation failed (${err.name})`),
    );
  }, 90_000);
  rotations.unref();
  // HTTPS beside HTTP (DEMO_HTTPS_PORT, `off` for none), on a certificate the PKI engine issues and the app swaps in on each reissue.
  if (env.DEMO_HTTPS_PORT !== 'off') {
    env.DEMO_HTTPS_PORT ??= which === 'express' ? '3444' : '3443';
    const caFile = relative(process.cwd(), writeCaFile(backends.tlsCaPem));
    console.log(`https on https://127.0.0.1:${env.DEMO_HTTPS_PORT} (a ${backends.env.KEYWARD_TLS_TTL} certificate from Vault PKI, reissued at ~2/3 of its life); the demo's root CA is in ${caFile}:`);
    console.log(`  curl --cacert ${caFile} https://127.0.0.1:${env.DEMO_HTTPS_PORT}/tls`);
  }
}

const child = spawn(process.execPath, ['dist/main.js'], { cwd: appDir, stdio: 'inherit', env });
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}
child.on('exit', async (code, signal) => {
  await backends?.stop();
  // Stopped on purpose (Ctrl-C) is a clean exit; a crash is not.
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});

// The operator's side: `pnpm keyward api-keys ...` (run from the repository root) reads this file
// to find the demo's key ring and pepper. Git-ignored, owner-only: it holds the dev server's root token.
function writeCliConfig(config) {
  if (process.env.KEYWARD_REDIS_URL) config = { ...config, redis: process.env.KEYWARD_REDIS_URL };
  mkdirSync(join(root, '.keyward'), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, '.keyward', 'cli.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  console.log('api keys: `pnpm keyward api-keys create --client <name> --scopes sign,db:read` (see README); .keyward/cli.json says where the ring is');
}

// The demo PKI's root CA certificate (public), for HTTPS clients: `curl --cacert .keyward/demo-ca.pem ...`.
function writeCaFile(pem) {
  mkdirSync(join(root, '.keyward'), { recursive: true, mode: 0o700 });
  const file = join(root, '.keyward', 'demo-ca.pem');
  writeFileSync(file, pem.endsWith('\n') ? pem : `${pem}\n`, { mode: 0o644 });
  return file;
}

// The dotenv demo's key ring and pepper are files beside .env (as a Kubernetes mount would hold them).
async function writeDevelopmentKeyRing(envFile) {
  const { demoKeyRingFiles } = await import('@keyward/demo-shared');
  const { randomPepper } = await import('@keyward/demo-shared/backends');
  const files = demoKeyRingFiles(envFile);
  mkdirSync(files.pepperDir, { recursive: true, mode: 0o700 });
  if (!existsSync(files.pepper)) writeFileSync(files.pepper, randomPepper(), { mode: 0o600 });
  if (!existsSync(files.ring)) writeFileSync(files.ring, `${JSON.stringify({ version: 1, keys: [] }, null, 2)}\n`, { mode: 0o600 });
  return { ring: `file:${relative(root, files.ring)}`, pepper: `file:${relative(root, files.pepper)}`, env: 'test' };
}

function writeDevelopmentEnvFile(envFile) {
  const template = readFileSync(join(appDir, '.env.example'), 'utf8').split('\n');
  const random = (line) => `${line}${randomBytes(32).toString("base64url")}`; // 32 bytes: also a valid AES-256 key (ENVELOPE_KEK__1)
  if (!existsSync(envFile)) {
    writeFileSync(envFile, template.map((line) => (/^[A-Z0-9_]+=$/.test(line) ? random(line) : line)).join('\n'), { mode: 0o600 });
    console.log(`wrote ${relative(root, envFile)} with random development values (git-ignored)`);
    return;
  }
  // A .env from an older checkout: add the names that .env.example gained since, keep the rest.
  const present = new Set(readFileSync(envFile, 'utf8').split('\n').map((line) => line.split('=')[0]));
  const missing = template.filter((line) => /^[A-Z0-9_]+=$/.test(line) && !present.has(line.slice(0, -1)));
  if (missing.length === 0) return;
  appendFileSync(envFile, `\n${missing.map(random).join('\n')}\n`);
  console.log(`added ${missing.map((line) => line.slice(0, -1)).join(', ')} to ${relative(root, envFile)} with random development values`);
}
