import { NAME, type Backend, type Route, type VaultRequest } from './backend.js';
import { badRequest, envelope, multiError, noContent, notFound, VaultHttpError, type VaultReply } from './http-envelope.js';
import type { Lease, LeaseManager } from './lease-manager.js';
import { formatExpiration, generatePassword, generateUsername, PostgresConnection } from './postgres-plugin.js';
import { calculateTtl } from './ttl.js';

const MOUNT_TYPE = 'database';
const PLUGIN = 'postgresql-database-plugin';
/** Keys of a config write that are settings of the engine, not connection details. */
const ENGINE_KEYS = new Set(['name', 'plugin_name', 'plugin_version', 'allowed_roles', 'verify_connection', 'root_rotation_statements', 'password_policy', 'skip_static_role_import_rotation']);

interface DbConfig {
  pluginName: string;
  pluginVersion: string;
  allowedRoles: string[];
  rootRotationStatements: string[];
  passwordPolicy: string;
  verifyConnection: boolean;
  details: Record<string, unknown>;
  connection: PostgresConnection;
}

interface DbRole {
  dbName: string;
  creation: string[];
  revocation: string[];
  rollback: string[];
  renewal: string[];
  defaultTtl: number;
  maxTtl: number;
}

/** 500 as Vault answers a backend error: wrapped by its request handler. */
const internal = (message: string) => new VaultHttpError(500, [multiError(message)]);

/**
 * The database secrets engine with its PostgreSQL plugin: connections (`config/:name`), dynamic
 * roles (`roles/:name`) and credentials (`creds/:role`) backed by leases that renew with
 * `ALTER ROLE ... VALID UNTIL` and revoke by dropping the role.
 */
export function databaseEngine(ctx: { readonly leases: LeaseManager; readonly mountPath: string }): Backend {
  const configs = new Map<string, DbConfig>();
  const roles = new Map<string, DbRole>();
  const ok = (req: VaultRequest, data: Record<string, unknown> | null, extra: Partial<Parameters<typeof envelope>[0]> = {}): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, data, ...extra });
  const list = (req: VaultRequest, keys: Iterable<string>): VaultReply => {
    const sorted = [...keys].sort();
    if (sorted.length === 0) throw notFound();
    return ok(req, { keys: sorted });
  };

  const writeConfig = async (req: VaultRequest, name: string): Promise<VaultReply> => {
    const previous = configs.get(name);
    const f = req.fields;
    const pluginName = f.has('plugin_name') ? f.string('plugin_name') : (previous?.pluginName ?? '');
    if (pluginName === '') throw badRequest('empty plugin name');
    if (pluginName !== PLUGIN) throw badRequest(`error creating database object: plugin not found in the catalog: ${pluginName}`);
    const details: Record<string, unknown> = { ...(previous?.details ?? {}) };
    for (const [k, v] of Object.entries(req.data)) if (!ENGINE_KEYS.has(k)) details[k] = v;
    const url = String(details.connection_url ?? '');
    if (url === '') throw badRequest('error creating database object: connection_url cannot be empty');
    const connectionString = url
      .replace(/\{\{\s*(username|name)\s*\}\}/g, encodeURIComponent(String(details.username ?? '')))
      .replace(/\{\{\s*password\s*\}\}/g, encodeURIComponent(String(details.password ?? '')));
    const verify = f.has('verify_connection') ? f.bool('verify_connection', true) : (previous?.verifyConnection ?? true);
    const connection = new PostgresConnection(connectionString);
    if (verify) {
      try {
        await connection.verify();
      } catch (err) {
        await connection.close();
        throw badRequest(`error creating database object: error verifying connection: ${(err as Error).message}`);
      }
    }
    await previous?.connection.close();
    configs.set(name, {
      pluginName,
      pluginVersion: f.has('plugin_version') ? f.string('plugin_version') : (previous?.pluginVersion ?? ''),
      allowedRoles: f.has('allowed_roles') ? f.commaList('allowed_roles') : (previous?.allowedRoles ?? []),
      rootRotationStatements: f.has('root_rotation_statements') ? f.stringList('root_rotation_statements') : (previous?.rootRotationStatements ?? []),
      passwordPolicy: f.has('password_policy') ? f.string('password_policy') : (previous?.passwordPolicy ?? ''),
      verifyConnection: verify,
      details,
      connection,
    });
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@{}]*:[^/@{}]*@/i.test(url)) {
      return ok(req, null, { warnings: ['Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information.'] });
    }
    return noContent();
  };

  const readConfig = (req: VaultRequest, name: string): VaultReply => {
    const c = configs.get(name);
    if (!c) throw notFound();
    const { password: _password, private_key: _key, ...visible } = c.details;
    if (typeof visible.connection_url === 'string') visible.connection_url = visible.connection_url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:{}]*):[^/@{}]*@/i, '$1:xxxxx@');
    return ok(req, {
      allowed_roles: [...c.allowedRoles],
      connection_details: visible,
      password_policy: c.passwordPolicy,
      plugin_name: c.pluginName,
      plugin_version: c.pluginVersion,
      root_credentials_rotate_statements: [...c.rootRotationStatements],
      skip_static_role_import_rotation: false,
      verify_connection: c.verifyConnection,
    });
  };

  const writeRole = (req: VaultRequest, name: string): VaultReply => {
    const f = req.fields;
    const prev = roles.get(name);
    const role: DbRole = {
      dbName: f.has('db_name') ? f.string('db_name') : (prev?.dbName ?? ''),
      creation: f.has('creation_statements') ? f.stringList('creation_statements') : (prev?.creation ?? []),
      revocation: (f.has('revocation_statements') ? f.stringList('revocation_statements') : (prev?.revocation ?? [])).filter((s) => s !== ''),
      rollback: f.has('rollback_statements') ? f.stringList('rollback_statements') : (prev?.rollback ?? []),
      renewal: f.has('renew_statements') ? f.stringList('renew_statements') : (prev?.renewal ?? []),
      defaultTtl: f.has('default_ttl') ? f.seconds('default_ttl') : (prev?.defaultTtl ?? 0),
      maxTtl: f.has('max_ttl') ? f.seconds('max_ttl') : (prev?.maxTtl ?? 0),
    };
    if (role.dbName === '') throw badRequest('database name is required');
    if (role.maxTtl > 0 && role.defaultTtl > role.maxTtl) throw badRequest('ttl cannot be greater than max_ttl');
    roles.set(name, role);
    return noContent();
  };

  const readRole = (req: VaultRequest, name: string): VaultReply => {
    const r = roles.get(name);
    if (!r) throw notFound();
    return ok(req, {
      creation_statements: [...r.creation],
      credential_type: 'password',
      db_name: r.dbName,
      default_ttl: r.defaultTtl,
      max_ttl: r.maxTtl,
      renew_statements: [...r.renewal],
      revocation_statements: [...r.revocation],
      rollback_statements: [...r.rollback],
    });
  };

  const createCreds = async (req: VaultRequest, roleName: string): Promise<VaultReply> => {
    const role = roles.get(roleName);
    if (!role) throw badRequest(`unknown role: ${roleName}`);
    const config = configs.get(role.dbName);
    if (!config) throw internal(`failed to find entry for connection with name: "${role.dbName}"`);
    if (!config.allowedRoles.some((p) => p === '*' || globMatch(p, roleName))) throw internal(`"${roleName}" is not an allowed role`);
    if (role.creation.length === 0) throw internal('empty creation statements');
    const { ttl, warnings } = calculateTtl({ increment: 0, backendTtl: role.defaultTtl, backendMaxTtl: role.maxTtl });
    const username = generateUsername(req.token?.displayName ?? 'token', roleName);
    const password = generatePassword();
    // Vault adds 5 s so the database credential never expires before its lease.
    const expiration = formatExpiration(Date.now() + (ttl + 5) * 1000);
    try {
      await config.connection.createUser(role.creation, { name: username, username, password, expiration });
    } catch (err) {
      throw internal(`failed to execute query: ${(err as Error).message}`);
    }
    const revocation = [...role.revocation];
    const lease = ctx.leases.create(`${ctx.mountPath}creds/${roleName}`, ttl, req.token?.id, {
      renew: async (l: Lease, increment: number) => {
        const current = roles.get(roleName);
        if (!current) throw badRequest(`error during renew: could not find role with name ${JSON.stringify(roleName)}`);
        const result = calculateTtl({ increment, backendTtl: current.defaultTtl, backendMaxTtl: current.maxTtl, startMs: l.issueTime });
        const conn = configs.get(current.dbName)?.connection;
        if (!conn) throw badRequest(`failed to find entry for connection with name: "${current.dbName}"`);
        await conn.renewUser(username, current.renewal, formatExpiration(Date.now() + (result.ttl + 5) * 1000));
        return result;
      },
      revoke: async () => {
        await configs.get(role.dbName)?.connection.revokeUser(username, revocation);
      },
    });
    return ok(req, { username, password }, { leaseId: lease.id, renewable: true, leaseDuration: ttl, warnings });
  };

  const name = (m: RegExpMatchArray) => m[1] ?? '';
  const routes: Route[] = [
    { pattern: /^config\/?$/, list: (req) => list(req, configs.keys()) },
    {
      pattern: new RegExp(`^config/${NAME}$`),
      exists: (m) => configs.has(name(m)),
      read: (req, m) => readConfig(req, name(m)),
      update: (req, m) => writeConfig(req, name(m)),
      delete: async (_req, m) => {
        await configs.get(name(m))?.connection.close();
        configs.delete(name(m));
        return noContent();
      },
    },
    {
      pattern: new RegExp(`^reset/${NAME}$`),
      update: (_req, m) => {
        if (!configs.has(name(m))) throw internal(`failed to find entry for connection with name: "${name(m)}"`);
        return noContent();
      },
    },
    { pattern: /^roles\/?$/, list: (req) => list(req, roles.keys()) },
    {
      pattern: new RegExp(`^roles/${NAME}$`),
      exists: (m) => roles.has(name(m)),
      read: (req, m) => readRole(req, name(m)),
      update: (req, m) => writeRole(req, name(m)),
      delete: (_req, m) => {
        roles.delete(name(m));
        return noContent();
      },
    },
    { pattern: new RegExp(`^creds/${NAME}$`), read: (req, m) => createCreds(req, name(m)) },
  ];
  return {
    type: MOUNT_TYPE,
    routes,
    async close() {
      await Promise.all([...configs.values()].map((c) => c.connection.close()));
      configs.clear();
    },
  };
}

/** strutil.StrListContainsGlob: `*` anywhere in an allowed role name. */
function globMatch(pattern: string, value: string): boolean {
  const re = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${re}$`).test(value);
}
