import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tlsFromSecret, type SecretStore, type TlsFromSecret } from '@keyward/core';
import { demoTlsEnabled, type DemoSecrets } from './secrets.js';

/** What `GET /tls` answers: the served certificate's public facts (never the certificate or its key). */
export interface DemoTlsInfo {
  readonly serial: string;
  readonly notAfter: string;
  /** The `tls` secret's version it came from (Vault PKI: the serial). */
  readonly version: string;
}

/**
 * The demo served over HTTPS as well: the `tls` secret (a certificate from Vault's PKI engine)
 * through `tlsFromSecret`, swapped into the server when the store reissues it. New connections
 * get the new certificate; open ones keep theirs.
 */
export interface DemoHttps {
  /** The certificate served, for the health report (`tls: { https: cert }`). */
  readonly cert: TlsFromSecret;
  readonly server: Server;
  /** The port it listens on, once `listen()` resolved. */
  readonly port: number | undefined;
  info(): DemoTlsInfo;
  /** Listens on `host` (default 127.0.0.1); resolves with the port (`0` picks one). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Stops taking connections; each answer closes its connection meanwhile, idle keep-alive ones
   * close at once, and what is left after `graceMs` (default 5 s) is cut. Then stops following
   * the secret. Idempotent: every call gets the same promise.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * The demo's HTTPS server for `app` (the same Express app as the HTTP one), when the demo runs
 * on Vault (`undefined` otherwise: the `.env` and AWS demos have no PKI). Logs each certificate
 * swap and refusal by version, serial and problem, never the PEM.
 *
 * @example const https = demoHttps(store, app, console.log); await https?.listen(3444);
 */
export function demoHttps(store: SecretStore<DemoSecrets>, app: RequestListener, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): DemoHttps | undefined {
  if (!demoTlsEnabled(env)) return undefined;
  // `tls` is declared by demoStoreOptions on the Vault backend only, hence outside DemoSecrets.
  const cert = tlsFromSecret(store as unknown as SecretStore, 'tls');
  cert.on('updated', (e) => log(`tls certificate updated: serial ${e.serial} (tls@${e.version}, was tls@${e.previous}), valid until ${e.notAfter}; new connections get it`));
  cert.on('rejected', (e) => log(`tls certificate refused: tls@${e.version} (${e.problem}, ${e.error.code}); still serving serial ${cert.certificate.serial}`));
  const server = cert.attach(createServer(cert.options(), app));
  let stopping = false;
  // Once stopping, each answer closes its connection: keep-alive clients cannot hold the server open.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping && !res.headersSent) res.setHeader('connection', 'close');
  });
  let port: number | undefined;
  let closing: Promise<void> | undefined;
  return {
    cert,
    server,
    get port() {
      return port;
    },
    info: () => {
      const { serial, notAfter, version } = cert.certificate;
      return { serial, notAfter, version };
    },
    listen: (wanted, host = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(wanted, host, () => {
          server.off('error', reject);
          port = (server.address() as AddressInfo).port;
          resolve(port);
        });
      }),
    close: (graceMs = 5000) =>
      (closing ??= (async () => {
        stopping = true;
        if (server.listening) {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const cut = setTimeout(() => server.closeAllConnections(), graceMs);
          cut.unref();
          await closed;
          clearTimeout(cut);
        }
        cert.close();
      })()),
  };
}

/**
 * The demo's served certificates by name, for the health report, the metrics and the status
 * sources: `{ https: cert }`, or none when the demo serves no HTTPS.
 *
 * @example keywardHealth(store, { tls: demoCertificates(https) })
 */
export function demoCertificates(https: DemoHttps | undefined): Readonly<Record<string, TlsFromSecret>> {
  return https === undefined ? {} : { https: https.cert };
}
