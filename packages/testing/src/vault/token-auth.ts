import type { Backend, Route, VaultRequest } from './backend.js';
import { badRequest, envelope, noContent, notFound, VaultHttpError, type VaultReply } from './http-envelope.js';
import type { TokenEntry } from './token-store.js';
import type { VaultCore } from './vault-core.js';

const MOUNT_TYPE = 'token';

/** Vault's SanitizePolicies: trimmed, lower-case, unique, sorted; `default` added unless root or refused. */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  if (addDefault && !set.has('root')) set.add('default');
  return [...set].sort();
}

/** The token auth method (`auth/token/`): create, lookup, renew and revoke. */
export function tokenAuth(core: VaultCore): Backend {
  const reply = (req: VaultRequest, fields: Partial<Parameters<typeof envelope>[0]>): VaultReply =>
    envelope({ requestId: req.requestId, mountType: MOUNT_TYPE, ...fields });

  const caller = (req: VaultRequest): TokenEntry => {
    if (!req.token) throw new VaultHttpError(403, ['permission denied']);
    return req.token;
  };
  const isRoot = (t: TokenEntry) => t.policies.includes('root');

  const create = (req: VaultRequest, orphanEndpoint: boolean): VaultReply => {
    const parent = caller(req);
    const f = req.fields;
    if (f.has('id') && !isRoot(parent)) throw badRequest('root or sudo privileges required to specify token id');
    if (f.string('type') === 'batch') throw badRequest('batch tokens are not supported by this dev server');
    const numUses = f.int('num_uses', 0);
    if (numUses < 0) throw badRequest('number of uses cannot be negative');
    const requested = f.commaList('policies');
    const noDefault = f.bool('no_default_policy', false);
    let policies = requested.length > 0 ? requested : parent.policies.filter((p) => !noDefault || p !== 'default');
    policies = sanitizePolicies(policies, !noDefault);
    if (!isRoot(parent)) {
      const allowed = new Set([...parent.policies, 'default']);
      if (!policies.every((p) => allowed.has(p))) throw badRequest('child policies must be subset of parent');
    }
    const period = f.seconds('period');
    if (period > 0 && !isRoot(parent)) throw badRequest('root or sudo privileges required to create periodic token');
    const displayName = f.string('display_name') ? `token-${f.string('display_name')}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+$/, '') : 'token';
    const meta = f.map('meta') as Record<string, string> | undefined;
    const orphan = orphanEndpoint || (f.bool('no_parent', false) && isRoot(parent));
    const { entry, warnings } = core.tokens.create({
      id: f.has('id') ? f.string('id') : undefined,
      policies,
      path: orphanEndpoint ? 'auth/token/create-orphan' : 'auth/token/create',
      displayName,
      meta: meta ? Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])) : null,
      numUses,
      parent: orphan ? undefined : parent.id,
      ttl: f.has('ttl') ? f.seconds('ttl') : f.seconds('lease'),
      explicitMaxTtl: f.seconds('explicit_max_ttl'),
      period,
      renewable: f.bool('renewable', true),
    });
    const missing = policies.filter((p) => p !== 'default' && p !== 'root' && !core.policies.has(p)).map((p) => `Policy "${p}" does not exist`);
    return reply(req, { auth: core.tokens.authBlock(entry), warnings: [...missing, ...warnings] });
  };

  const target = (req: VaultRequest, field: 'token' | 'accessor'): TokenEntry => {
    const value = req.fields.string(field);
    if (!value) throw badRequest(field === 'token' ? 'missing token ID' : 'missing accessor');
    const entry = field === 'token' ? core.tokens.lookup(value) : core.tokens.byAccessor(value);
    if (!entry) throw new VaultHttpError(field === 'token' ? 403 : 400, [field === 'token' ? 'bad token' : 'invalid accessor']);
    return entry;
  };

  const renew = (req: VaultRequest, entry: TokenEntry): VaultReply => {
    const { ttl, warnings } = core.tokens.renew(entry, req.fields.seconds('increment'));
    return reply(req, { auth: core.tokens.authBlock(entry, ttl), warnings });
  };

  const lookup = (req: VaultRequest, entry: TokenEntry, withId = true): VaultReply =>
    reply(req, { data: core.tokens.lookupData(entry, withId) });

  const revoke = async (entry: TokenEntry): Promise<VaultReply> => {
    await core.tokens.revoke(entry.id);
    return noContent();
  };

  const routes: Route[] = [
    { pattern: /^create$/, update: (req) => create(req, false) },
    { pattern: /^create-orphan$/, update: (req) => create(req, true) },
    { pattern: /^lookup-self$/, read: (req) => lookup(req, caller(req)), update: (req) => lookup(req, caller(req)) },
    { pattern: /^lookup$/, update: (req) => lookup(req, target(req, 'token')) },
    { pattern: /^lookup-accessor$/, update: (req) => lookup(req, target(req, 'accessor'), false) },
    { pattern: /^renew-self$/, update: (req) => renew(req, caller(req)) },
    { pattern: /^renew$/, update: (req) => renew(req, target(req, 'token')) },
    { pattern: /^renew-accessor$/, update: (req) => renew(req, target(req, 'accessor')) },
    { pattern: /^revoke-self$/, update: (req) => revoke(caller(req)) },
    { pattern: /^revoke$/, update: (req) => revoke(target(req, 'token')) },
    { pattern: /^revoke-accessor$/, update: (req) => revoke(target(req, 'accessor')) },
    {
      pattern: /^roles\/?$/,
      list: () => {
        throw notFound();
      },
    },
  ];
  return { type: MOUNT_TYPE, routes };
}
