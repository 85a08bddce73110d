import type { RunningPostgres } from '../embedded-postgres.js';
import type { VaultDevServer } from './vault-dev-server.js';

/** A role of Vault's database engine: how it creates users, and how long their credentials live. */
export interface PostgresEngineRole {
  /** Vault TTLs (`'1m'`, `'2h'`). */
  readonly defaultTtl: string;
  readonly maxTtl: string;
  /** Statements run after the user is created, `{{name}}` being the new user (e.g. `GRANT SELECT ON t TO "{{name}}"`). */
  readonly grants?: readonly string[];
}

/** The statement Vault's documentation uses: a login role that stops working when its lease ends. */
export const CREATE_LEASED_ROLE = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`;

/**
 * Sets up Vault's database secrets engine on `postgres` as an operator would, through Vault's
 * API with the root token: mounts the engine, writes a connection with the admin login, and one
 * role per entry of `roles`.
 *
 * @example
 * await mountPostgresEngine(vault, postgres, { roles: { app: { defaultTtl: '1m', maxTtl: '5m', grants: ['GRANT SELECT ON invoices TO "{{name}}"'] } } });
 * // GET /v1/database/creds/app now issues PostgreSQL users
 */
export async function mountPostgresEngine(
  vault: Pick<VaultDevServer, 'url' | 'rootToken'>,
  postgres: RunningPostgres,
  options: { readonly mount?: string; readonly connection?: string; readonly roles: Readonly<Record<string, PostgresEngineRole>> },
): Promise<void> {
  const mount = options.mount ?? 'database';
  const connection = options.connection ?? 'postgres';
  const call = async (path: string, body: object) => {
    const res = await fetch(`${vault.url}/v1/${path}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Vault POST ${path} answered ${res.status}`);
  };
  await call(`sys/mounts/${mount}`, { type: 'database' });
  await call(`${mount}/config/${connection}`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${postgres.port}/${postgres.database}`,
    username: postgres.user,
    password: postgres.password,
    allowed_roles: Object.keys(options.roles),
  });
  for (const [name, role] of Object.entries(options.roles)) {
    await call(`${mount}/roles/${name}`, {
      db_name: connection,
      creation_statements: [CREATE_LEASED_ROLE, ...(role.grants ?? []).map((g) => (g.endsWith(';') ? g : `${g};`))],
      default_ttl: role.defaultTtl,
      max_ttl: role.maxTtl,
    });
  }
}
