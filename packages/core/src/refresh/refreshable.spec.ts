import { afterEach, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canary, closeAfterEach, memoryProvider, nextEvent, waitFor, type MemoryProvider } from '@keyward/test-support';
import type { SecretPayload, SecretProvider } from '../providers/index.js';
import type { Secret, SecretLease } from '../secret/index.js';
import { SecretStore } from '../store/secret-store.js';
import { refreshable } from './refreshable.js';

/** A partner's API on loopback that accepts only the token its backend holds now. */
async function partnerServer(accepted: () => string): Promise<{ server: Server; port: number; refused: number }> {
  const state = { server: undefined as unknown as Server, port: 0, refused: 0 };
  state.server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${accepted()}`) {
      state.refused += 1;
      res.writeHead(401).end();
      return;
    }
    // A little work, so that calls overlap the rotations.
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), 2);
  });
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

/** The client the app builds from the token: a keep-alive agent of its own, and the token. */
interface PartnerClient {
  readonly token: string;
  readonly agent: Agent;
  inFlight: number;
  disposedWhileBusy: boolean;
  destroyed: boolean;
}

class HttpStatusError extends Error {
  constructor(readonly statusCode: number) {
    super(`the partner answered ${statusCode}`);
  }
}

function call(client: PartnerClient, port: number): Promise<string> {
  client.inFlight += 1;
  return new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/orders', agent: client.agent, headers: { authorization: `Bearer ${client.token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new HttpStatusError(res.statusCode ?? 0))));
    });
    req.on('error', reject);
    req.end();
  }).finally(() => (client.inFlight -= 1));
}

describe('refreshable', () => {
  const track = closeAfterEach();
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function storeWith(provider: SecretProvider, refreshMs = 40) {
    return track(
      await new SecretStore({ app: 'a', environment: 'test', providers: { test: provider }, secrets: { partnerToken: { refresh: { interval: refreshMs, jitter: 0 } } } }).start(),
    );
  }

  function clientFactory(built: PartnerClient[]) {
    return {
      build: (secret: Secret<unknown>) => {
        const client: PartnerClient = { token: secret.reveal() as string, agent: new Agent({ keepAlive: true, maxSockets: 8 }), inFlight: 0, disposedWhileBusy: false, destroyed: false };
        built.push(client);
        return client;
      },
      dispose: (client: PartnerClient) => {
        client.disposedWhileBusy = client.inFlight > 0;
        client.destroyed = true;
        client.agent.destroy();
      },
    };
  }

  it('serves every call across 10 rotations of a token the partner accepts only while it is current: zero failures', async () => {
    const provider = memoryProvider({ partnerToken: canary('token') });
    const partner = await partnerServer(() => provider.values['partnerToken'] as string);
    servers.push(partner.server);
    const store = await storeWith(provider);
    const built: PartnerClient[] = [];
    const client = await refreshable<PartnerClient>({
      store,
      secret: 'partnerToken',
      ...clientFactory(built),
      isAuthFailure: (err) => err instanceof HttpStatusError && err.statusCode === 401,
    });
    track(client);
    const rebuilt: string[] = [];
    client.on('rebuilt', (e) => rebuilt.push(e.version));

    let stop = false;
    const outcomes = { ok: 0, failed: [] as unknown[] };
    const worker = async () => {
      while (!stop) {
        try {
          expect(await client.use((c) => call(c, partner.port))).toBe('ok');
          outcomes.ok += 1;
        } catch (err) {
          outcomes.failed.push(err);
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // The partner rotates the token at its end; the app learns it by its refresh, or by a refused call.
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      provider.values['partnerToken'] = canary(`token-${i}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop = true;
    await Promise.all(workers);

    expect(outcomes.failed).toEqual([]);
    expect(outcomes.ok).toBeGreaterThan(200);
    // Refusals did happen (calls made between a rotation and the store's refresh), and each was retried.
    expect(partner.refused).toBeGreaterThan(0);
    expect(rebuilt.length).toBeGreaterThanOrEqual(10);
    // Every replaced client was disposed, never while a call was in flight on it.
    await waitFor(() => built.slice(0, -1).every((c) => c.destroyed), 2000, 'the replaced clients disposed');
    expect(built.filter((c) => c.disposedWhileBusy)).toEqual([]);
    expect(built.at(-1)!.destroyed).toBe(false);
  });

  it('debounces a burst of rotations into one rebuild from the newest value', async () => {
    const provider = memoryProvider({ partnerToken: 't0' });
    const store = await storeWith(provider, 3_600_000);
    const built: PartnerClient[] = [];
    const client = track(await refreshable<PartnerClient>({ store, secret: 'partnerToken', debounce: '50ms', ...clientFactory(built) }));
    for (const token of ['t1', 't2', 't3']) {
      provider.values['partnerToken'] = token;
      await store.refresh('partnerToken');
    }
    await nextEvent(client, 'rebuilt', 2000);
    expect(built.map((c) => c.token)).toEqual(['t0', 't3']);
    expect(client.current().token).toBe('t3');
  });

  it('keeps the current instance when the new value fails to build, and builds it on a retry', async () => {
    const provider = memoryProvider({ partnerToken: 't0' });
    const store = await storeWith(provider, 3_600_000);
    let failBuild = false;
    const client = track(
      await refreshable<string>({
        store,
        secret: 'partnerToken',
        debounce: '0ms',
        build: (secret) => {
          if (failBuild) throw new Error('the SDK refused its configuration');
          return `client(${String(secret.reveal())})`;
        },
      }),
    );
    failBuild = true;
    provider.values['partnerToken'] = 't1';
    await store.refresh('partnerToken');
    const failed = await nextEvent<{ attempt: number }>(client, 'rebuildFailed', 2000);
    expect(failed.attempt).toBe(1);
    expect(client.current()).toBe('client(t0)');
    failBuild = false;
    await nextEvent(client, 'rebuilt', 3000); // the retry, after its backoff
    expect(client.current()).toBe('client(t1)');
  });

  it('disposes a replaced instance only after its uses in flight end (forced at drainTimeout), holding the old lease until then', async () => {
    let issued = 0;
    const revoked: string[] = [];
    const leased: SecretProvider = {
      kind: 'leased',
      locate: () => 'leased',
      async read(): Promise<SecretPayload> {
        issued += 1;
        const lease: SecretLease = { id: `lease-${issued}`, ttlMs: 3_600_000, renewable: false, issuedAt: new Date() };
        return { value: `token-${issued}`, version: `v${issued}`, lease };
      },
      async revoke(lease) {
        revoked.push(lease.id);
      },
    };
    const store = track(await new SecretStore({ app: 'a', environment: 'test', providers: { test: leased }, secrets: { partnerToken: { refresh: false } } }).start());
    const disposed: string[] = [];
    const client = track(await refreshable<string>({ store, secret: 'partnerToken', debounce: '0ms', drainTimeout: '300ms', build: (s) => String(s.reveal()), dispose: (i) => void disposed.push(i) }));

    let finish!: () => void;
    const slow = client.use((instance) => new Promise<string>((resolve) => (finish = () => resolve(instance))));
    await store.refresh('partnerToken');
    await nextEvent(client, 'rebuilt', 2000);
    expect(client.current()).toBe('token-2');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The slow use still runs on token-1: not disposed, its lease not revoked.
    expect(disposed).toEqual([]);
    expect(revoked).toEqual([]);
    finish();
    expect(await slow).toBe('token-1');
    await waitFor(() => revoked.includes('lease-1'), 2000, 'the old lease revoked');
    expect(disposed).toEqual(['token-1']);

    // A use that never ends does not keep the instance forever.
    void client.use(() => new Promise(() => {}));
    await store.refresh('partnerToken');
    const forced = await nextEvent<{ version: string; forced: boolean }>(client, 'disposed', 2000);
    expect(forced).toEqual({ version: 'v2', forced: true });
  });

  it('close() stops following the secret and disposes the instance; use() after it is refused', async () => {
    const provider: MemoryProvider = memoryProvider({ partnerToken: 't0' });
    const store = await storeWith(provider, 3_600_000);
    const disposed: string[] = [];
    const client = await refreshable<string>({ store, secret: 'partnerToken', build: (s) => String(s.reveal()), dispose: (i) => void disposed.push(i) });
    expect(store.listenerCount('rotated')).toBe(1);
    await client.close();
    await client.close();
    expect(disposed).toEqual(['t0']);
    expect(store.listenerCount('rotated')).toBe(0);
    await expect(client.use((i) => i)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
