import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext, type SecureContextOptions } from 'node:tls';
import { parseDuration, type Duration } from '../util/index.js';
import type { CheckedTls } from './tls-material.js';

/**
 * Whom a mutual-TLS client trusts, and how strictly.
 *
 * @example
 * { ca: partnerRootPem }
 */
export interface ClientTlsOptions {
  /** The servers' roots (PEM); Node's root store when absent. */
  readonly ca?: SecureContextOptions['ca'];
  /** Default `true`. Turn off only against a test server. */
  readonly rejectUnauthorized?: boolean;
}

/** The options undici hands a `connect` function (its `buildConnector.Options`). */
export interface TlsConnectorOptions {
  readonly hostname: string;
  readonly host?: string;
  readonly protocol: string;
  readonly port: string;
  readonly servername?: string;
  readonly localAddress?: string | null;
  readonly httpSocket?: Socket;
}

/** undici's connector signature: `new Agent({ connect })` takes it. */
export type TlsConnector = (options: TlsConnectorOptions, callback: (...result: [null, Socket] | [Error, null]) => void) => void;

/** A client context per certificate version, with this client's trust. */
function clientContexts(options: ClientTlsOptions): (tls: CheckedTls) => SecureContext {
  const contexts = new WeakMap<CheckedTls, SecureContext>();
  return (tls) => {
    let context = contexts.get(tls);
    if (context === undefined) {
      context = createSecureContext({ ...(options.ca === undefined ? {} : { ca: options.ca }), cert: tls.chain, key: tls.key });
      contexts.set(tls, context);
    }
    return context;
  };
}

const VERSION = Symbol('keyward.tlsVersion');
type Tagged = Duplex & { [VERSION]?: string };

/**
 * An `https.Agent` presenting the newest certificate on each new connection. Its pool and TLS
 * session cache are keyed by certificate version too (`getName`), so a connection or a resumed
 * session made with an older certificate is never handed to a new request; idle ones are closed
 * at a swap, busy ones when they come back.
 */
export function clientAgent(
  owner: { on(event: 'updated', listener: () => void): unknown; off(event: 'updated', listener: () => void): unknown },
  current: () => CheckedTls,
  options: HttpsAgentOptions & ClientTlsOptions,
): HttpsAgent {
  const contextFor = clientContexts(options);
  const { ca: _ca, ...agentOptions } = options;
  const versionOf = () => current().info.version;

  class KeywardTlsAgent extends HttpsAgent {
    override getName(connection?: Parameters<HttpsAgent['getName']>[0]): string {
      return `${super.getName(connection)}:keyward-tls:${versionOf()}`;
    }

    override createConnection(connection: Parameters<HttpsAgent['createConnection']>[0], callback?: Parameters<HttpsAgent['createConnection']>[1]): Duplex {
      const tls = current();
      const socket = super.createConnection({ ...connection, secureContext: contextFor(tls) } as ConnectionOptions, callback) as Tagged;
      socket[VERSION] = tls.info.version;
      return socket;
    }

    override destroy(): void {
      owner.off('updated', closeStaleIdle);
      super.destroy();
    }
  }
  const agent = new KeywardTlsAgent(agentOptions);
  const isIdle = (socket: Duplex) => Object.values(agent.freeSockets).some((list) => list?.includes(socket as Socket));
  // A socket back from a request after a swap: close it rather than keep it idle under the old name.
  agent.on('free', (socket: Tagged) => {
    if (socket[VERSION] !== versionOf() && isIdle(socket)) socket.destroy();
  });
  function closeStaleIdle(): void {
    for (const list of Object.values(agent.freeSockets)) for (const socket of [...(list ?? [])] as Tagged[]) if (socket[VERSION] !== versionOf()) socket.destroy();
  }
  owner.on('updated', closeStaleIdle);
  return agent;
}

/**
 * undici's `connect` for mutual TLS: the newest certificate on each new connection, the server
 * checked against `ca`, no TLS session resumption (a resumed session would carry the old client
 * certificate). Plain `http:` origins connect without TLS.
 */
export function clientConnector(current: () => CheckedTls, options: ClientTlsOptions & { readonly timeout?: Duration }): TlsConnector {
  const contextFor = clientContexts(options);
  const timeoutMs = parseDuration(options.timeout ?? '10s', 'timeout');
  return (target, callback) => {
    const hostname = target.hostname.replace(/^\[|\]$/g, '');
    const https = target.protocol === 'https:';
    const port = Number(target.port) || (https ? 443 : 80);
    const servername = target.servername || (isIP(hostname) === 0 ? hostname : undefined);
    const socket: Socket = https
      ? tlsConnect({
          host: hostname,
          port,
          ...(servername === undefined ? {} : { servername }),
          secureContext: contextFor(current()),
          rejectUnauthorized: options.rejectUnauthorized ?? true,
          ALPNProtocols: ['http/1.1'],
          ...(target.httpSocket === undefined ? {} : { socket: target.httpSocket }),
          ...(target.localAddress ? { localAddress: target.localAddress } : {}),
        })
      : netConnect({ host: hostname, port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
    let pending: typeof callback | undefined = callback;
    const settle = (error: Error | null) => {
      clearTimeout(timer);
      const cb = pending;
      pending = undefined;
      if (error) cb?.(error, null);
      else cb?.(null, socket);
    };
    const timer = setTimeout(() => {
      // The code Node's own sockets use, which HTTP clients already handle.
      const error = Object.assign(new Error(`connecting to ${hostname}:${port} took longer than ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      socket.destroy(error);
      settle(error);
    }, timeoutMs);
    timer.unref();
    socket.setNoDelay(true);
    socket.once(https ? 'secureConnect' : 'connect', () => settle(null));
    socket.on('error', (error) => settle(error));
  };
}
