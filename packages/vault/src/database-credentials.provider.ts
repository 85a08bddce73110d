import { isKeywardError, KeywardError, parseDuration, UNCHANGED, type Duration, type SecretLease, type SecretProvider, type SecretRef } from '@keyward/core';
import { connectionFor } from './provider-connection.js';
import type { VaultConnectionChoice } from './vault-connection.js';
import { vaultStatusOf } from './vault-errors.js';
import { checkedRoleName, encodePath, locateRole, trimSlashes } from './vault-path.js';

/**
 * Options of {@link vaultDatabaseCredentials}: a connection (or its options), the mount, the role.
 *
 * @example { connection: vault, mount: 'database', role: 'billing-app', increment: '1h' }
 */
export type VaultDatabaseCredentialsOptions = VaultConnectionChoice & {
  /** Where the database secrets engine is mounted (default `database`). */
  readonly mount?: string;
  /**
   * The Vault role to get credentials for: a name, or a function of the secret. Default: the
   * secret's rendered path, so declare `path: 'billing-app'` (or `'{app}-{env}'`) on the secret;
   * a role name has no `/`.
   */
  readonly role?: string | ((ref: SecretRef) => string);
  /** Extension to ask for at each renewal (default: none, so Vault applies the role's `default_ttl`). */
  readonly increment?: Duration;
};

interface LeaseAnswer {
  readonly lease_id?: unknown;
  readonly lease_duration?: unknown;
  readonly renewable?: unknown;
  readonly data?: { readonly username?: unknown; readonly password?: unknown } | null;
}

interface LeaseLookupAnswer {
  readonly data?: { readonly ttl?: unknown } | null;
}


/**
 * Dynamic database credentials from Vault's database secrets engine:
 * `GET /v1/<mount>/creds/<role>` gives `{ username, password }` under a lease. The store renews
 * the lease at about 2/3 of its TTL (`PUT /v1/sys/leases/renew`), gets new credentials when a
 * renewal is refused or comes back short (max TTL near), emits `rotated`, and revokes the old
 * lease (`PUT /v1/sys/leases/revoke`) once every `hold()` is released. The version is the last
 * segment of the lease id, so instances and Vault's audit log agree on which credentials are
 * meant. A refresh while the lease lives answers "unchanged" rather than issuing new users.
 *
 * @example
 * const store = await createSecretStore({
 *   app: 'billing',
 *   providers: { production: { default: vaultKv({ connection: vault }), db: vaultDatabaseCredentials({ connection: vault, role: 'billing-app' }) } },
 *   secrets: { database: { provider: 'db', refresh: false } },
 * });
 * store.on('rotated', (e) => e.name === 'database' && pool.rotate(e.current.reveal(), e.hold()));
 */
export function vaultDatabaseCredentials(options: VaultDatabaseCredentialsOptions): SecretProvider {
  const mount = encodePath(options.mount ?? 'database', 'vaultDatabaseCredentials mount');
  const { connection, owned } = connectionFor(options);
  const increment = options.increment === undefined ? undefined : Math.ceil(parseDuration(options.increment, 'increment') / 1000);
  const roleOf = (ref: SecretRef): string =>
    checkedRoleName(
      typeof options.role === 'function' ? options.role(ref) : (options.role ?? trimSlashes(ref.path)),
      "give vaultDatabaseCredentials a `role`, or declare the secret's `path` as the role (e.g. path: 'billing-app')",
    );
  let lookupAllowed = true;

  return {
    kind: 'vault-database',
    locate: locateRole(mount, 'creds', roleOf),
    async read(ref, { signal, current }) {
      const role = roleOf(ref);
      // A refresh (not a lease re-issue) while the credentials still live: keep them.
      if (current?.lease !== undefined && (await stillLeased(current.lease, signal))) return UNCHANGED;
      const issuedAt = new Date();
      const { body } = await connection.request<LeaseAnswer | undefined>({ method: 'GET', path: `${mount}/creds/${encodeURIComponent(role)}`, signal, doing: 'database credentials' });
      const username = body?.data?.username;
      const password = body?.data?.password;
      if (typeof body?.lease_id !== 'string' || typeof username !== 'string' || typeof password !== 'string') {
        throw new KeywardError('SECRET_INVALID', `Vault's answer at ${mount}/creds/${role} holds no lease_id, username and password`);
      }
      return { value: { username, password }, version: versionOf(body.lease_id), lease: leaseFrom(body, body.lease_id, issuedAt) };
    },
    async renew(lease, { signal }) {
      const issuedAt = new Date();
      const { body } = await connection.request<LeaseAnswer | undefined>({
        method: 'PUT',
        path: 'sys/leases/renew',
        body: { lease_id: lease.id, ...(increment === undefined ? {} : { increment }) },
        signal,
        doing: 'lease renewal',
      });
      return leaseFrom(body, lease.id, issuedAt);
    },
    async revoke(lease, { signal }) {
      await connection.request({ method: 'PUT', path: 'sys/leases/revoke', body: { lease_id: lease.id }, signal, doing: 'lease revocation' });
    },
    ...(owned ? { close: () => connection.close() } : {}),
  };

  /** Whether Vault still knows the lease (`sys/leases/lookup`); by its TTL alone when the token may not look leases up. */
  async function stillLeased(lease: SecretLease, signal: AbortSignal): Promise<boolean> {
    if (lookupAllowed) {
      try {
        const { body } = await connection.request<LeaseLookupAnswer | undefined>({
          method: 'PUT',
          path: 'sys/leases/lookup',
          body: { lease_id: lease.id },
          signal,
          doing: 'lease lookup',
        });
        return typeof body?.data?.ttl === 'number' && body.data.ttl > 0;
      } catch (err) {
        // Vault answers an unknown (revoked, expired) lease with 400 "invalid lease".
        if (vaultStatusOf(err) === 400 || isKeywardError(err, 'SECRET_NOT_FOUND')) return false;
        // A login refused meanwhile is no answer about the lookup: report it.
        if (vaultStatusOf(err) !== 403) throw err;
        lookupAllowed = false;
      }
    }
    return lease.issuedAt.getTime() + lease.ttlMs > Date.now();
  }
}

function leaseFrom(body: LeaseAnswer | undefined, id: string, issuedAt: Date): SecretLease {
  const seconds = typeof body?.lease_duration === 'number' && body.lease_duration > 0 ? body.lease_duration : 0;
  return { id: typeof body?.lease_id === 'string' && body.lease_id ? body.lease_id : id, ttlMs: seconds * 1000, renewable: body?.renewable === true, issuedAt };
}

/** `database/creds/app/5EQ6…` → `5EQ6…`: unique per issue, and what Vault's lease tools show. */
function versionOf(leaseId: string): string {
  return leaseId.slice(leaseId.lastIndexOf('/') + 1) || leaseId;
}
