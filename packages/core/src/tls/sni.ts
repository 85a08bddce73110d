import type { SecureContext } from 'node:tls';
import { KeywardError } from '../errors/index.js';
import type { TlsFromSecret } from './tls-from-secret.js';

/** Node's `SNICallback`: the context for the name a client asked for. */
export type SniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;

/**
 * An `SNICallback` serving one certificate per host name from secrets: each handshake gets the
 * current context of the certificate for the name the client sent (exact, else a `*.` wildcard
 * one label deep), so every certificate is swapped live without `attach()`. Names nobody claims
 * get the server's own certificate (give `createServer` a default's `options()` and `attach` it).
 *
 * @example
 * const shop = tlsFromSecret(store, 'shopTls');
 * const api = tlsFromSecret(store, 'apiTls');
 * const server = shop.attach(https.createServer({ ...shop.options(), SNICallback: sniCallback({ 'api.example.com': api, '*.shop.example.com': shop }) }, app));
 */
export function sniCallback(certificates: Readonly<Record<string, Pick<TlsFromSecret, 'secureContext'>>>): SniCallback {
  const exact = new Map<string, Pick<TlsFromSecret, 'secureContext'>>();
  const wildcard = new Map<string, Pick<TlsFromSecret, 'secureContext'>>();
  for (const [name, certificate] of Object.entries(certificates)) {
    const host = name.toLowerCase().replace(/\.$/, '');
    if (host.startsWith('*.')) wildcard.set(host.slice(2), certificate);
    else if (host !== '' && !host.includes('*')) exact.set(host, certificate);
    else throw new KeywardError('CONFIG_INVALID', `sniCallback: "${name}" is not a host name or a *. wildcard`);
  }
  return (servername, callback) => {
    const host = servername.toLowerCase().replace(/\.$/, '');
    const dot = host.indexOf('.');
    const certificate = exact.get(host) ?? (dot > 0 ? wildcard.get(host.slice(dot + 1)) : undefined);
    let context: SecureContext | undefined;
    try {
      context = certificate?.secureContext();
    } catch (err) {
      return callback(err as Error);
    }
    callback(null, context);
  };
}
