import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { tokenAuth } from './auth/token.auth.js';
import { createVaultConnection } from './vault-connection.js';
import { createVaultTransport, type VaultTransport } from './vault-transport.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stop(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve(text));
  });
}

describe('Vault transport (the HTTP layer under node-vault)', () => {
  let handler: Handler = () => {};
  const server = http.createServer((req, res) => handler(req, res));
  let base = '';
  let transport: VaultTransport;

  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => stop(server));
  afterEach(() => transport?.close());

  it('sends JSON with the headers given, and parses JSON answers (nothing for a 204)', async () => {
    const seen: { method?: string; type?: string; token?: string; body?: string }[] = [];
    handler = async (req, res) => {
      seen.push({ method: req.method, type: req.headers['content-type'], token: req.headers['x-vault-token'] as string, body: await readBody(req) });
      if (req.url === '/v1/empty') return res.writeHead(204).end();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"data":{"ok":true}}');
    };
    transport = createVaultTransport({ timeoutMs: 2000 });
    const answer = await transport.send({ method: 'POST', uri: `${base}/v1/thing`, headers: { 'X-Vault-Token': 't' }, json: { a: 1 } });
    expect(answer).toEqual({ statusCode: 200, body: { data: { ok: true } }, request: { path: '/v1/thing' } });
    expect(seen[0]).toEqual({ method: 'POST', type: 'application/json', token: 't', body: '{"a":1}' });
    expect((await transport.send({ method: 'GET', uri: `${base}/v1/empty` })).body).toBeUndefined();
  });

  it('ends the HTTP call when the caller\'s signal aborts', async () => {
    let closedByClient: Promise<void> = Promise.resolve();
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    handler = (req) => {
      // Never answers: only the abort can end this call.
      closedByClient = new Promise((resolve) => req.socket.on('close', () => resolve()));
      arrived();
    };
    transport = createVaultTransport({ timeoutMs: 10_000 });
    const controller = new AbortController();
    const sending = transport.send({ method: 'GET', uri: `${base}/v1/slow`, signal: controller.signal });
    await received; // the call is in flight at the server, so the abort must end a real connection
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(sending).rejects.toMatchObject({ name: 'AbortError' });
    await closedByClient;
  });

  it('gives up after its own timeout with an ETIMEDOUT error', async () => {
    handler = () => {};
    transport = createVaultTransport({ timeoutMs: 100 });
    const started = Date.now();
    await expect(transport.send({ method: 'GET', uri: `${base}/v1/slow` })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('Vault transport over TLS', () => {
  let dir = '';
  let cert: Buffer;
  let key: Buffer;
  let server: https.Server;
  let base = '';
  let clientCertSeen: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-vault-tls-'));
    // A throw-away self-signed certificate for 127.0.0.1, valid one day.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    // It also asks for a client certificate signed by itself (mTLS), but does not require one.
    server = https.createServer({ cert, key, ca: cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket as TLSSocket;
      clientCertSeen = socket.authorized ? String(socket.getPeerCertificate().subject?.CN) : undefined;
      if (req.url === '/v1/auth/token/lookup-self') return res.writeHead(200).end('{"data":{"ttl":0,"renewable":false}}');
      res.writeHead(200).end('{"data":{"secure":true}}');
    });
    base = `https://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the CA it is given, and refuses an unknown certificate otherwise', async () => {
    const trusting = createVaultTransport({ timeoutMs: 2000, tls: { ca: cert } });
    const plain = createVaultTransport({ timeoutMs: 2000 });
    const careless = createVaultTransport({ timeoutMs: 2000, tls: { rejectUnauthorized: false } });
    try {
      expect((await trusting.send({ method: 'GET', uri: `${base}/v1/x` })).body).toEqual({ data: { secure: true } });
      await expect(plain.send({ method: 'GET', uri: `${base}/v1/x` })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect((await careless.send({ method: 'GET', uri: `${base}/v1/x` })).statusCode).toBe(200);
    } finally {
      for (const t of [trusting, plain, careless]) t.close();
    }
  });

  it('presents a client certificate (mTLS)', async () => {
    const transport = createVaultTransport({ timeoutMs: 2000, tls: { ca: cert, cert, key } });
    try {
      await transport.send({ method: 'GET', uri: `${base}/v1/x` });
      expect(clientCertSeen).toBe('127.0.0.1');
    } finally {
      transport.close();
    }
  });

  it('takes its TLS options from the connection, and maps a refused certificate to CONFIG_INVALID', async () => {
    const good = createVaultConnection({ endpoint: base, tls: { ca: cert }, auth: tokenAuth({ token: 'hvs.test' }) });
    const bad = createVaultConnection({ endpoint: base, auth: tokenAuth({ token: 'hvs.test' }) });
    try {
      expect((await good.request({ method: 'GET', path: 'x' })).body).toEqual({ data: { secure: true } });
      await expect(bad.request({ method: 'GET', path: 'x' })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/TLS certificate was refused/) });
    } finally {
      await Promise.all([good.close(), bad.close()]);
    }
  });
});
