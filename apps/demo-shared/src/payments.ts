import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refreshable, type Refreshable, type Secret, type SecretStore } from '@keyward/core';
import type { DemoSecrets } from './secrets.js';

/**
 * The payment provider the demo calls with `paymentsApiKey`, on 127.0.0.1: like a real one, it
 * accepts only the key it issued last (`rotate()` replaces it, and the old one stops working at
 * once). The demo's backends start it and write each new key to Vault.
 */
export interface PaymentsProvider {
  readonly url: string;
  /** Calls it answered 401 (a key it no longer accepts). */
  readonly refused: number;
  /** Accepts `key` from now on, and only it. */
  accept(key: string): void;
  close(): Promise<void>;
}

/**
 * Starts the payment provider stand-in: `GET /v1/ping` answers 200 with the current key, 401 otherwise.
 *
 * @example const payments = await startPaymentsProvider(initialKey); payments.accept(nextKey);
 */
export async function startPaymentsProvider(initialKey: string): Promise<PaymentsProvider> {
  let current = initialKey;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/v1/ping') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    if (req.headers.authorization !== `Bearer ${current}`) {
      refused += 1;
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_api_key"}');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get refused() {
      return refused;
    },
    accept: (key) => void (current = key),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What the app builds from `paymentsApiKey`: a keep-alive agent of its own and the key's header. */
export interface PaymentsClient {
  readonly agent: Agent;
  readonly authorization: string;
  /** The key's version, to show which one served a call (never the key). */
  readonly version: string;
}

/** A call the payment provider refused with this status. */
class PaymentsRefused extends Error {
  constructor(readonly status: number) {
    super(`the payment provider answered ${status}`);
    this.name = 'PaymentsRefused';
  }
}

/**
 * How both demos build the payment provider's client from `paymentsApiKey` (for `refreshable()`
 * and Nest's `refreshableProvider()`): an agent per key, closed when the key is replaced, and a
 * 401 counted as "this key is no longer accepted", so that a refused call is retried once after
 * a refresh of the key.
 *
 * @example const client = await refreshable({ store, ...paymentsClientOptions });
 */
export const paymentsClientOptions = {
  secret: 'paymentsApiKey',
  build: (key: Secret<string>): PaymentsClient => ({ agent: new Agent({ keepAlive: true, maxSockets: 16 }), authorization: `Bearer ${key.reveal()}`, version: key.version }),
  dispose: (old: PaymentsClient): void => void old.agent.destroy(),
  isAuthFailure: (err: unknown): boolean => err instanceof PaymentsRefused && err.status === 401,
} as const;

/**
 * Asks the payment provider (`DEMO_PAYMENTS_URL`) whether the key works, through the current
 * client; says which version of the key served the call. `undefined` when the demo has no provider.
 *
 * @example const answer = await pingPayments(client); // { status: 'ok', keyVersion: '3' }
 */
export function pingPayments(client: Refreshable<PaymentsClient>, env: NodeJS.ProcessEnv = process.env): Promise<{ status: 'ok'; keyVersion: string }> | undefined {
  const url = env['DEMO_PAYMENTS_URL'];
  if (!url) return undefined;
  return client.use(
    (c) =>
      new Promise((resolve, reject) => {
        const req = request(`${url}/v1/ping`, { agent: c.agent, headers: { authorization: c.authorization } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve({ status: 'ok' as const, keyVersion: c.version }) : reject(new PaymentsRefused(res.statusCode ?? 0))));
        });
        req.on('error', reject);
        req.end();
      }),
  );
}

/** The Express demo's payments: the client rebuilt on rotation, and its ping. */
export interface DemoPayments {
  readonly client: Refreshable<PaymentsClient>;
  /** `undefined` when the demo has no payment provider. */
  ping(): Promise<{ status: 'ok'; keyVersion: string }> | undefined;
  close(): Promise<void>;
}

/**
 * The payment provider's client, rebuilt when `paymentsApiKey` rotates (`refreshable`): new calls
 * use the new key at once, the old client's sockets close after its calls in flight, and a call
 * the provider refuses (it rotated the key before the store read it again) triggers one shared
 * refresh and one retry, so that a rotation fails no call.
 *
 * @example const payments = await demoPayments(store, console.log); await payments.ping();
 */
export async function demoPayments(store: SecretStore<DemoSecrets>, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<DemoPayments> {
  const client = await refreshable<PaymentsClient, string>({ store, ...paymentsClientOptions });
  client.on('rebuilt', (e) => log(`payments client rebuilt for paymentsApiKey@${e.version} (was @${e.previous})`));
  client.on('rebuildFailed', (e) => log(`payments client: paymentsApiKey@${e.version} could not be used (attempt ${e.attempt})`));
  return { client, ping: () => pingPayments(client, env), close: () => client.close() };
}
