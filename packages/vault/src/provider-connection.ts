import { VaultConnection, type VaultConnectionChoice, type VaultConnectionOptions } from './vault-connection.js';

/** The connection a provider uses, and whether the provider owns it (then its `close()` closes it). */
export function connectionFor(options: VaultConnectionChoice): { connection: VaultConnection; owned: boolean } {
  const given = (options as { connection?: VaultConnection }).connection;
  if (given !== undefined && typeof given.request === 'function') return { connection: given, owned: false };
  return { connection: new VaultConnection(options as VaultConnectionOptions), owned: true };
}
