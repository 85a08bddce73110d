import { NAME, type Route, type VaultRequest } from './backend.js';
import { badRequest, noContent, notFound } from './http-envelope.js';
import { sysReply } from './sys-reply.js';
import type { VaultCore } from './vault-core.js';

/** `sys/policy` (legacy, `rules`) and `sys/policies/acl` (`policy`). */
export function policyRoutes(core: VaultCore): Route[] {
  const store = core.policies;
  const nameOf = (m: RegExpMatchArray) => (m[1] ?? '').trim().toLowerCase();

  const write = (req: VaultRequest, m: RegExpMatchArray) => {
    const name = nameOf(m);
    if (name === 'root') throw badRequest('cannot update "root" policy');
    const text = req.fields.string('policy') || req.fields.string('rules');
    if (!text) throw badRequest("'policy' parameter not supplied or empty");
    store.set(name, text);
    return noContent();
  };

  const remove = (_req: VaultRequest, m: RegExpMatchArray) => {
    const name = nameOf(m);
    if (name === 'root' || name === 'default') throw badRequest(`cannot delete "${name}" policy`);
    store.delete(name);
    return noContent();
  };

  const read = (key: 'rules' | 'policy') => (req: VaultRequest, m: RegExpMatchArray) => {
    const p = store.get(nameOf(m));
    if (!p) throw notFound();
    return sysReply(req, { data: { name: p.name, [key]: p.text } });
  };

  const names = () => store.names();
  return [
    {
      pattern: /^policy\/?$/,
      read: (req) => sysReply(req, { data: { keys: names(), policies: names() } }),
      list: (req) => sysReply(req, { data: { keys: names(), policies: names() } }),
    },
    { pattern: new RegExp(`^policy/${NAME}$`), exists: (m) => store.has(nameOf(m)), read: read('rules'), update: write, delete: remove },
    { pattern: /^policies\/acl\/?$/, list: (req) => sysReply(req, { data: { keys: names() } }) },
    { pattern: new RegExp(`^policies/acl/${NAME}$`), exists: (m) => store.has(nameOf(m)), read: read('policy'), update: write, delete: remove },
  ];
}
