import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TlsOptions } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { closeAfterEach, expectNoCanary, waitFor } from '@keyward/test-support';
import { followKeyRing } from './key-ring-follower.js';
import { redisKeyRingPublisher } from './key-ring-publisher.js';
import { notice, randomChannel, recordingStore, REDIS, REDIS_URL } from './spec-support/index.js';

interface Pem {
  cert: string;
  key: string;
}

/** A self-signed certificate for `localhost`, made by openssl for this run. */
async function selfSigned(dir: string, name: string): Promise<Pem> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=localhost`, '-addext', 'subjectAltName=DNS:localhost'], { timeout: 20_000 });
  return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
}

/** A TLS front for the local Redis, on 127.0.0.1 (Redis itself speaks plain TCP here). */
async function tlsRedis(options: TlsOptions) {
  const sockets = new Set<Socket>();
  const server = createServer(options, (client) => {
    const upstream = connect(REDIS.port, REDIS.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    server,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('TLS options (rediss://)', () => {
  const track = closeAfterEach();
  let dir: string;
  let server: Pem;
  let otherCa: Pem;
  let client: Pem;
  let channel: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-redis-tls-'));
    [server, otherCa, client] = await Promise.all([selfSigned(dir, 'server'), selfSigned(dir, 'other-ca'), selfSigned(dir, 'client')]);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));
  beforeEach(() => {
    channel = randomChannel();
  });

  /** A plain subscriber on the channel, to see what the publisher sent. */
  async function witness(): Promise<{ seen: () => number }> {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    track({ close: async () => void (await redis.quit().catch(() => redis.disconnect())) });
    await redis.connect();
    let seen = 0;
    redis.on('message', () => seen++);
    await redis.subscribe(channel);
    return { seen: () => seen };
  }

  it('the follower trusts a private CA given as tls.ca, subscribes over TLS and follows notices', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key }));
    const store = recordingStore();
    const follower = track(followKeyRing(store, 'apiKeyRing', { url: `rediss://localhost:${front.port}`, channel, tls: { ca: [server.cert] }, minRefreshIntervalMs: 0 }));
    await follower.subscribed();
    await waitFor(() => store.calls.length === 1, 1000, 'the catch-up read');
    await track(redisKeyRingPublisher({ url: REDIS_URL, channel })).publish(notice());
    await waitFor(() => store.calls.length === 2, 2000, 'the refresh after a notice sent over TLS');
  });

  it('the publisher refuses a server whose certificate the given CA did not sign', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key }));
    const seen = await witness();
    const refused = track(redisKeyRingPublisher({ url: `rediss://localhost:${front.port}`, channel, tls: { ca: otherCa.cert } }));
    await expect(refused.publish(notice())).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/) });
    const trusted = track(redisKeyRingPublisher({ url: `rediss://localhost:${front.port}`, channel, tls: { ca: server.cert } }));
    await trusted.publish(notice());
    await waitFor(() => seen.seen() === 1, 1000, 'the one notice that went through');
  });

  it('a follower with the wrong CA never subscribes: it polls instead', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key }));
    const handshakeRefused = new Promise<void>((resolve) => front.server.once('tlsClientError', () => resolve()));
    const follower = track(followKeyRing(recordingStore(), 'apiKeyRing', { url: `rediss://localhost:${front.port}`, channel, tls: { ca: otherCa.cert } }));
    await handshakeRefused;
    expect(follower.state).toBe('polling');
  });

  it('tls.servername is the name checked when the URL holds an IP address', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key }));
    const byIp = track(redisKeyRingPublisher({ url: `rediss://127.0.0.1:${front.port}`, channel, tls: { ca: server.cert } }));
    await expect(byIp.publish(notice())).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID') });
    const named = track(redisKeyRingPublisher({ url: `rediss://127.0.0.1:${front.port}`, channel, tls: { ca: server.cert, servername: 'localhost' } }));
    await expect(named.publish(notice())).resolves.toBeUndefined();
  });

  it('tls.rejectUnauthorized: false accepts an unknown certificate (for local tests only)', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key }));
    const publisher = track(redisKeyRingPublisher({ url: `rediss://localhost:${front.port}`, channel, tls: { rejectUnauthorized: false } }));
    await expect(publisher.publish(notice())).resolves.toBeUndefined();
  });

  it('tls.cert and tls.key answer a server that asks for a client certificate; the key never shows in an error', async () => {
    const front = track(await tlsRedis({ cert: server.cert, key: server.key, requestCert: true, rejectUnauthorized: true, ca: client.cert }));
    const seen = await witness();
    const withCert = track(redisKeyRingPublisher({ url: `rediss://localhost:${front.port}`, channel, tls: { ca: server.cert, cert: client.cert, key: client.key } }));
    await withCert.publish(notice());
    await waitFor(() => seen.seen() === 1, 1000, 'the notice sent with a client certificate');

    const wrongCert = track(redisKeyRingPublisher({ url: `rediss://localhost:${front.port}`, channel, tls: { ca: server.cert, cert: otherCa.cert, key: otherCa.key } }));
    const err = await wrongCert.publish(notice()).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/^PROVIDER_/) });
    const keyBody = otherCa.key.split('\n')[1]!;
    expectNoCanary({ message: (err as Error).message, json: JSON.stringify(err), stack: String((err as Error).stack) }, keyBody);
  });

  it('tls options with a redis:// URL are refused (TLS is asked for by the URL)', () => {
    expect(() => followKeyRing(recordingStore(), 'apiKeyRing', { url: REDIS_URL, tls: { ca: server.cert } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('rediss://') }));
    expect(() => redisKeyRingPublisher({ url: REDIS_URL, tls: { ca: server.cert } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
