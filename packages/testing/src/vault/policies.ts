import { parsePolicy, type PathRule } from './policy-parser.js';

/** Vault's built-in `default` policy (the rules a dev server starts with). */
export const DEFAULT_POLICY = `
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`;

interface StoredPolicy {
  readonly name: string;
  readonly text: string;
  readonly rules: readonly PathRule[];
}

/** Named ACL policies (`sys/policies/acl`), with `root` and `default` built in. */
export class PolicyStore {
  private readonly policies = new Map<string, StoredPolicy>();

  constructor() {
    this.set('default', DEFAULT_POLICY);
  }

  /** Parses and stores a policy; throws Vault's 400 on a parse error. */
  set(name: string, text: string): void {
    this.policies.set(name, { name, text, rules: parsePolicy(text) });
  }

  get(name: string): StoredPolicy | undefined {
    if (name === 'root') return { name: 'root', text: '', rules: [] };
    return this.policies.get(name);
  }

  has(name: string): boolean {
    return name === 'root' || this.policies.has(name);
  }

  delete(name: string): void {
    this.policies.delete(name);
  }

  names(): string[] {
    return [...this.policies.keys(), 'root'].sort();
  }

  /**
   * Whether policies grant `capability` on `path` (plus `sudo` when the path is root-protected).
   * Rules of all policies are merged by pattern; the most specific matching pattern decides, and
   * `deny` wins, as in Vault's ACL.
   */
  allows(policyNames: readonly string[], path: string, capability: string, needsSudo: boolean): boolean {
    if (policyNames.includes('root')) return true;
    const merged = new Map<string, Set<string>>();
    for (const name of policyNames) {
      for (const rule of this.policies.get(name)?.rules ?? []) {
        const caps = merged.get(rule.pattern) ?? new Set<string>();
        for (const c of rule.capabilities) caps.add(c);
        merged.set(rule.pattern, caps);
      }
    }
    let best: string | undefined;
    for (const pattern of merged.keys()) {
      if (!patternMatches(pattern, path)) continue;
      if (best === undefined || morePrecise(pattern, best, path)) best = pattern;
    }
    if (best === undefined) return false;
    const caps = merged.get(best)!;
    if (caps.has('deny')) return false;
    return caps.has(capability) && (!needsSudo || caps.has('sudo'));
  }
}

/** Whether any rule of the policies grants something under `prefix` (Vault's hasMountAccess). */
export function hasAccessUnder(store: PolicyStore, policyNames: readonly string[], prefix: string): boolean {
  if (policyNames.includes('root')) return true;
  return policyNames.some((name) =>
    (store.get(name)?.rules ?? []).some((rule) => {
      const literal = rule.pattern.replace(/\*$/, '').split('+')[0]!;
      const caps = [...rule.capabilities].filter((c) => c !== 'deny');
      return caps.length > 0 && (literal.startsWith(prefix) || prefix.startsWith(literal));
    }),
  );
}

/** `*` only at the end (prefix match); `+` stands for exactly one path segment. */
export function patternMatches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const body = glob ? pattern.slice(0, -1) : pattern;
  const re = body
    .split('/')
    .map((seg) => (seg === '+' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${re}${glob ? '' : '$'}`).test(path);
}

/** Vault's priority rules between two matching patterns (true when `a` beats `b`). */
function morePrecise(a: string, b: string, path: string): boolean {
  const exactA = !a.includes('*') && !a.includes('+') && a === path;
  const exactB = !b.includes('*') && !b.includes('+') && b === path;
  if (exactA !== exactB) return exactA;
  const firstWild = (p: string) => {
    const idx = [p.indexOf('+'), p.indexOf('*')].filter((i) => i >= 0);
    return idx.length ? Math.min(...idx) : p.length;
  };
  if (firstWild(a) !== firstWild(b)) return firstWild(a) > firstWild(b);
  if (a.endsWith('*') !== b.endsWith('*')) return !a.endsWith('*');
  const plus = (p: string) => p.split('/').filter((s) => s === '+').length;
  if (plus(a) !== plus(b)) return plus(a) < plus(b);
  if (a.length !== b.length) return a.length > b.length;
  return a > b;
}
