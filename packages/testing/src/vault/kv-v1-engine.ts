import type { Backend } from './backend.js';
import { badRequest, envelope, noContent, notFound } from './http-envelope.js';

/** The unversioned KV engine (`type: kv` without `options.version: 2`). */
export function kvV1Engine(): Backend {
  const entries = new Map<string, Record<string, unknown>>();
  return {
    type: 'kv',
    routes: [
      {
        pattern: /^(.*)$/,
        exists: (m) => entries.has(m[1] ?? ''),
        read: (req, m) => {
          const value = entries.get(m[1] ?? '');
          if (!value) throw notFound();
          return envelope({ requestId: req.requestId, mountType: 'kv', data: structuredClone(value), leaseDuration: 2_764_800 });
        },
        update: (req, m) => {
          const key = m[1] ?? '';
          if (key === '' || key.endsWith('/')) throw badRequest('missing path');
          entries.set(key, structuredClone({ ...req.data }));
          return noContent();
        },
        delete: (_req, m) => {
          entries.delete(m[1] ?? '');
          return noContent();
        },
        list: (req, m) => {
          const prefix = m[1] ?? '';
          const keys = new Set<string>();
          for (const key of entries.keys()) {
            if (!key.startsWith(prefix)) continue;
            const rest = key.slice(prefix.length);
            const slash = rest.indexOf('/');
            if (rest) keys.add(slash >= 0 ? rest.slice(0, slash + 1) : rest);
          }
          if (keys.size === 0) throw notFound();
          return envelope({ requestId: req.requestId, mountType: 'kv', data: { keys: [...keys].sort() } });
        },
      },
    ],
  };
}
