import { badRequest, permissionDenied, policyDenied, sealedError, type VaultReply } from './http-envelope.js';
import { parseJsonBody } from './http-envelope.js';
import { VAULT_VERSION } from './mount-table.js';
import type { VaultCore } from './vault-core.js';

const BUILD_DATE = '2025-03-04T17:22:56Z';

/** `GET|HEAD sys/health`: Vault's status codes and query overrides (CE active node). */
export function health(core: VaultCore, method: string, query: URLSearchParams): VaultReply {
  const code = (name: string, fallback: number): number | undefined => {
    const raw = query.get(name);
    if (raw === null) return fallback;
    return /^\d+$/.test(raw) ? Number(raw) : undefined;
  };
  const sealedCode = code('sealedcode', 503);
  const activeCode = code('activecode', 200);
  for (const name of ['uninitcode', 'standbycode', 'drsecondarycode', 'performancestandbycode']) {
    if (code(name, 0) === undefined) return { status: 400, body: { errors: [] } };
  }
  if (sealedCode === undefined || activeCode === undefined) return { status: 400, body: { errors: [] } };
  const sealed = core.seal.sealed;
  const status = sealed ? sealedCode : activeCode;
  if (method === 'HEAD') return { status };
  const body: Record<string, unknown> = {
    initialized: true,
    sealed,
    standby: sealed,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: VAULT_VERSION,
    enterprise: false,
    ...(sealed ? {} : { cluster_name: core.clusterName, cluster_id: core.clusterId }),
    echo_duration_ms: 0,
    clock_skew_ms: 0,
  };
  return { status, body };
}

/** `GET sys/seal-status` (also the answer of `sys/unseal`). */
export function sealStatus(core: VaultCore): VaultReply {
  const sealed = core.seal.sealed;
  return {
    status: 200,
    body: {
      type: 'shamir',
      initialized: true,
      sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: VAULT_VERSION,
      build_date: BUILD_DATE,
      migration: false,
      ...(sealed ? {} : { cluster_name: core.clusterName, cluster_id: core.clusterId }),
      recovery_seal: false,
      storage_type: 'inmem',
      unseal_recovery_enabled: false,
    },
  };
}

/** `PUT sys/unseal {key|reset}`: one share of one unseals the dev server. */
export function unseal(core: VaultCore, bodyText: string): VaultReply {
  const body = parseJsonBody(bodyText);
  // UnsealRequest has no JSON tags: Go matches the field names case-insensitively.
  const field = (name: string) => Object.entries(body).find(([k]) => k.toLowerCase() === name)?.[1];
  if (field('reset') === true) {
    if (!core.seal.sealed) throw badRequest('vault is unsealed');
    return sealStatus(core);
  }
  const key = field('key');
  if (typeof key !== 'string' || key === '') throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
  if (core.seal.sealed) {
    const problem = core.seal.checkKey(key);
    if (problem) throw badRequest(problem);
    core.seal.unseal();
  }
  return sealStatus(core);
}

/** `PUT sys/seal`: root, or sudo on `sys/seal`. */
export function seal(core: VaultCore, tokenId: string | undefined): VaultReply {
  if (core.seal.sealed) throw sealedError();
  const token = core.tokens.lookup(tokenId);
  if (!token) throw permissionDenied();
  if (!core.policies.allows(token.policies, 'sys/seal', 'update', true)) throw policyDenied();
  core.seal.seal();
  return { status: 204 };
}
