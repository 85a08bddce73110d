import http from 'node:http';
import https from 'node:https';
import { watchAbort } from '@keyward/core';

/** A PEM-encoded certificate or key, as text or bytes. */
export type Pem = string | Buffer;

/**
 * TLS settings for Vault's HTTPS listener, given to the `https.Agent` every request goes through.
 *
 * @example
 * tls: { ca: readFileSync('/etc/vault/ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client-key.pem') }
 */
export interface VaultTlsOptions {
  /** CA certificate(s) that sign Vault's certificate (in place of the system's list). */
  readonly ca?: Pem | readonly Pem[];
  /** Client certificate and key, for a listener that asks for one (mTLS, cert auth). */
  readonly cert?: Pem;
  readonly key?: Pem;
  readonly passphrase?: string;
  /** Refuse a certificate that does not verify (default `true`; `false` only for local tests). */
  readonly rejectUnauthorized?: boolean;
  /** Name to expect in the certificate, when it differs from the endpoint's host. */
  readonly servername?: string;
}

/** What node-vault hands to its `request-promise` stand-in. */
export interface TransportRequest {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly signal?: AbortSignal;
  /** More signals that end the call (the caller's and the connection's close), each listened to for this call only. */
  readonly signals?: readonly (AbortSignal | undefined)[];
}

/** What node-vault expects back from it. */
export interface TransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

export interface VaultTransport {
  /**
   * Sends one request. Rejects with Node's network error, with an error coded `ETIMEDOUT` after
   * `timeoutMs`, or (once `signal` aborts) with whatever Node reports; the caller checks its signal.
   */
  send(request: TransportRequest): Promise<TransportResponse>;
  /** Closes the pooled sockets. */
  close(): void;
}

/**
 * The HTTP layer under node-vault. node-vault 0.12 drives axios but forwards neither an
 * AbortSignal nor a per-call timeout to it, so it is given this transport instead (its
 * `request-promise` option): Node's own http(s) with a keep-alive agent carrying the TLS
 * settings, the connection's timeout, and the caller's signal, so that an abort really ends the
 * HTTP call.
 */
export function createVaultTransport(options: { readonly tls?: VaultTlsOptions; readonly timeoutMs: number }): VaultTransport {
  const tls = options.tls ?? {};
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ...(tls.ca !== undefined ? { ca: tls.ca as Pem | Pem[] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  });

  return {
    send(request) {
      const url = new URL(request.uri);
      const secure = url.protocol === 'https:';
      const parents = request.signal === undefined ? (request.signals ?? []) : [...(request.signals ?? []), request.signal];
      const body = request.json === undefined ? undefined : Buffer.from(JSON.stringify(request.json));
      const headers: Record<string, string | number> = { ...request.headers, Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] ??= 'application/json';
        headers['Content-Length'] = body.length;
      }
      return new Promise<TransportResponse>((resolve, reject) => {
        // No AbortSignal of its own (building one costs microseconds, and reads run many at once):
        // the deadline and the parent signals destroy the request, and are let go of when it settles.
        let settled = false;
        let timedOut = false;
        let req: http.ClientRequest | undefined;
        let stop: (() => void) | undefined;
        const letGo = () => {
          settled = true;
          stop?.();
        };
        const fail = (err: unknown) => {
          if (settled) return;
          letGo();
          // Our own deadline, not the caller's: say so with a code the error mapping knows.
          if (timedOut && !parents.some((p) => p?.aborted)) reject(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' }));
          else reject(err);
        };
        stop = watchAbort(options.timeoutMs, parents, (reason, byDeadline) => {
          timedOut = byDeadline;
          if (req === undefined) fail(reason);
          else req.destroy(byDeadline ? (reason as Error) : abortError(reason));
        });
        if (settled) return; // a parent had aborted already
        req = (secure ? https : http).request(url, { method: request.method, headers, agent: secure ? httpsAgent : httpAgent });
        req.on('error', fail);
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('aborted', () => fail(new Error('the response was cut off')));
          res.on('end', () => {
            if (settled) return;
            letGo();
            resolve({ statusCode: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)), request: { path: url.pathname } });
          });
        });
        req.end(body);
      });
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Vault answers JSON or nothing (204); anything else is dropped rather than kept as text that may be quoted later. */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** What a request ended by a parent signal is destroyed with: the error Node's own `signal` option gives. */
function abortError(reason: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause: reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}
