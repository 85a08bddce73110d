import { isKeywardError, KeywardError } from '@keyward/core';
import { readCredentialFile } from './credential-file.js';
import type { VaultAuth } from './vault-auth.js';

/**
 * Options of {@link tokenAuth}.
 *
 * @example { tokenFile: '/vault/agent/token' }
 */
export interface TokenAuthOptions {
  /** The token (default: the `VAULT_TOKEN` environment variable, when no `tokenFile` is given). */
  readonly token?: string;
  /**
   * A file that holds the token, such as Vault Agent's sink. It is read at start and again
   * whenever Vault refuses the token, so a token the agent replaced is picked up.
   */
  readonly tokenFile?: string;
}

/**
 * Authenticates with a token you already have. Its TTL and renewability come from
 * `auth/token/lookup-self`; a renewable token is renewed in the background (`renew-self`) at about
 * 2/3 of its TTL. A refused token is final, unless it comes from `tokenFile` (then the file is
 * read again once).
 *
 * @example
 * createVaultConnection({ endpoint: 'https://vault:8200', auth: tokenAuth({ tokenFile: '/vault/agent/token' }) })
 */
export function tokenAuth(options: TokenAuthOptions = {}): VaultAuth {
  const { tokenFile } = options;
  const fixed = options.token ?? (tokenFile === undefined ? process.env['VAULT_TOKEN'] : undefined);
  if (tokenFile === undefined && !fixed) {
    throw new KeywardError('CONFIG_INVALID', 'tokenAuth needs a token, a tokenFile, or the VAULT_TOKEN environment variable');
  }
  return {
    method: 'token',
    canLoginAgain: tokenFile !== undefined,
    ownsToken: false,
    async login(vault, signal, options) {
      const token = fixed || (await readCredentialFile(tokenFile!, 'Vault token'));
      // The lookup only gives the TTL the renewal needs (a refused token is reported by the first
      // read): without renewal the reads need not wait one round trip for it.
      if (options?.renew === false) return { token, ttlMs: 0, renewable: false };
      try {
        const body = await vault.request<{ data?: { ttl?: unknown; renewable?: unknown } }>({
          method: 'GET',
          path: 'auth/token/lookup-self',
          token,
          signal,
          doing: 'token lookup',
        });
        const ttl = typeof body?.data?.ttl === 'number' && body.data.ttl > 0 ? body.data.ttl : 0;
        return { token, ttlMs: ttl * 1000, renewable: body?.data?.renewable === true };
      } catch (err) {
        // A policy without lookup-self still lets the token read: go on without renewal. A token
        // that Vault refuses outright is reported by the first read, with the secret's name.
        if (isKeywardError(err, 'PERMISSION_DENIED')) return { token, ttlMs: 0, renewable: false };
        throw err;
      }
    },
  };
}
