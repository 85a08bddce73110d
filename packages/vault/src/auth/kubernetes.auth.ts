import { KeywardError } from '@keyward/core';
import { encodePath, trimSlashes } from '../vault-path.js';
import { readCredentialFile } from './credential-file.js';
import { tokenFromLogin, type VaultAuth } from './vault-auth.js';

/**
 * Where Kubernetes mounts a pod's service-account token: the default `jwtFile` of {@link kubernetesAuth}.
 *
 * @example kubernetesAuth({ role: 'billing', jwtFile: SERVICE_ACCOUNT_TOKEN_FILE })
 */
export const SERVICE_ACCOUNT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Options of {@link kubernetesAuth}.
 *
 * @example { role: 'billing', jwtFile: '/var/run/secrets/tokens/vault', mount: 'kubernetes-prod' }
 */
export interface KubernetesAuthOptions {
  /** The Vault role bound to the pod's service account. */
  readonly role: string;
  /** The service-account JWT, read at every login: projected tokens rotate (default {@link SERVICE_ACCOUNT_TOKEN_FILE}). */
  readonly jwtFile?: string;
  /** Where the Kubernetes method is mounted (default `kubernetes`). */
  readonly mount?: string;
}

/**
 * Logs in with the pod's service-account token (`POST /v1/auth/<mount>/login` with `role` and
 * `jwt`), and again whenever the token nears its max TTL, cannot be renewed, or is refused.
 *
 * @example
 * createVaultConnection({ endpoint: 'https://vault.vault:8200', auth: kubernetesAuth({ role: 'billing' }) })
 */
export function kubernetesAuth(options: KubernetesAuthOptions): VaultAuth {
  if (!options.role) throw new KeywardError('CONFIG_INVALID', 'kubernetesAuth needs the Vault role');
  const path = `auth/${encodePath(trimSlashes(options.mount ?? 'kubernetes'))}/login`;
  const jwtFile = options.jwtFile ?? SERVICE_ACCOUNT_TOKEN_FILE;
  return {
    method: 'kubernetes',
    canLoginAgain: true,
    ownsToken: true,
    async login(vault, signal) {
      const jwt = await readCredentialFile(jwtFile, 'Kubernetes service-account token');
      const body = await vault.request({ method: 'POST', path, body: { role: options.role, jwt }, signal, doing: 'Kubernetes login' });
      return tokenFromLogin(body, 'Kubernetes login');
    },
  };
}
