/** Vault's HTTP API as an operator uses it (root token), to set a dev server up and look at its state in tests. */
export interface VaultAdmin {
  /** One call; rejects on any status of 400 or more, with Vault's errors. */
  call<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** Writes a new KV v2 version; resolves with its number. */
  writeKv(path: string, data: Record<string, unknown>, mount?: string): Promise<number>;
  /** A token with these policies (`POST /v1/auth/token/create`). */
  createToken(options: { policies: string[]; ttl?: string; renewable?: boolean }): Promise<string>;
  putPolicy(name: string, hcl: string): Promise<void>;
  /** `PUT /v1/sys/leases/lookup`: the lease's `expire_time` and `ttl`, or `undefined` once it is gone. */
  lookupLease(leaseId: string): Promise<{ expire_time: string; ttl: number } | undefined>;
}

export function vaultAdmin(url: string, rootToken: string): VaultAdmin {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': rootToken, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (res.status >= 400) {
      throw Object.assign(new Error(`${method} /v1/${path}: ${res.status} ${JSON.stringify(parsed?.errors ?? [])}`), { status: res.status });
    }
    return parsed as T;
  };
  return {
    call,
    async writeKv(path, data, mount = 'secret') {
      const answer = await call<{ data: { version: number } }>('POST', `${mount}/data/${path}`, { data });
      return answer.data.version;
    },
    async createToken({ policies, ttl = '1h', renewable = true }) {
      const answer = await call<{ auth: { client_token: string } }>('POST', 'auth/token/create', { policies, ttl, renewable, no_default_policy: false });
      return answer.auth.client_token;
    },
    async putPolicy(name, hcl) {
      await call('PUT', `sys/policies/acl/${name}`, { policy: hcl });
    },
    async lookupLease(leaseId) {
      try {
        const answer = await call<{ data: { expire_time: string; ttl: number } }>('PUT', 'sys/leases/lookup', { lease_id: leaseId });
        return answer.data;
      } catch (err) {
        if ((err as { status?: number }).status === 400) return undefined;
        throw err;
      }
    },
  };
}
