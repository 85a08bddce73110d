import { KeywardError } from '@keyward/core';
import { encodePath, trimSlashes } from '../vault-path.js';
import { credential } from './credential-file.js';
import { tokenFromLogin, type VaultAuth } from './vault-auth.js';

/**
 * Options of {@link appRoleAuth}: each credential as a value or a file.
 *
 * @example { roleIdFile: '/run/secrets/role-id', secretIdFile: '/run/secrets/secret-id', mount: 'approle' }
 */
export interface AppRoleAuthOptions {
  /** The role's `role_id`, or `roleIdFile` to read it from. */
  readonly roleId?: string;
  readonly roleIdFile?: string;
  /** The `secret_id`, or `secretIdFile` (read at every login, so a rotated file is picked up). Omit both for a role with `bind_secret_id: false`. */
  readonly secretId?: string;
  readonly secretIdFile?: string;
  /** Where the AppRole method is mounted (default `approle`). */
  readonly mount?: string;
}

/**
 * Logs in with AppRole (`POST /v1/auth/<mount>/login`), and again whenever the token nears its
 * max TTL, cannot be renewed, or is refused.
 *
 * @example
 * createVaultConnection({
 *   endpoint: 'https://vault:8200',
 *   auth: appRoleAuth({ roleId: process.env.VAULT_ROLE_ID, secretIdFile: '/run/secrets/vault-secret-id' }),
 * })
 */
export function appRoleAuth(options: AppRoleAuthOptions): VaultAuth {
  if (!options.roleId && options.roleIdFile === undefined) throw new KeywardError('CONFIG_INVALID', 'appRoleAuth needs a roleId or a roleIdFile');
  const path = `auth/${encodePath(trimSlashes(options.mount ?? 'approle'))}/login`;
  return {
    method: 'approle',
    canLoginAgain: true,
    ownsToken: true,
    async login(vault, signal) {
      const roleId = await credential(options.roleId, options.roleIdFile, 'AppRole role_id');
      const secretId = await credential(options.secretId, options.secretIdFile, 'AppRole secret_id');
      const body = await vault.request({
        method: 'POST',
        path,
        body: { role_id: roleId, ...(secretId === undefined ? {} : { secret_id: secretId }) },
        signal,
        doing: 'AppRole login',
      });
      return tokenFromLogin(body, 'AppRole login');
    },
  };
}
