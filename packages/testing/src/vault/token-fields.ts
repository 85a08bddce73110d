import type { Fields } from './fields.js';
import { sanitizePolicies } from './token-auth.js';
import type { NewToken } from './token-store.js';

/** The `token_*` settings every auth method role shares (Vault's tokenutil.TokenParams). */
export interface TokenFields {
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenExplicitMaxTtl: number;
  tokenPeriod: number;
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenBoundCidrs: string[];
}

/** Reads the token fields of a role write, with the deprecated aliases (`policies`, `ttl`, `max_ttl`, `period`). */
export function readTokenFields(f: Fields, prev: TokenFields | undefined): TokenFields {
  const pick = <T>(names: string[], read: (name: string) => T, fallback: T): T => {
    const name = names.find((n) => f.has(n));
    return name === undefined ? fallback : read(name);
  };
  return {
    tokenPolicies: pick(['token_policies', 'policies'], (n) => f.commaList(n), prev?.tokenPolicies ?? []),
    tokenTtl: pick(['token_ttl', 'ttl'], (n) => f.seconds(n), prev?.tokenTtl ?? 0),
    tokenMaxTtl: pick(['token_max_ttl', 'max_ttl'], (n) => f.seconds(n), prev?.tokenMaxTtl ?? 0),
    tokenExplicitMaxTtl: pick(['token_explicit_max_ttl'], (n) => f.seconds(n), prev?.tokenExplicitMaxTtl ?? 0),
    tokenPeriod: pick(['token_period', 'period'], (n) => f.seconds(n), prev?.tokenPeriod ?? 0),
    tokenNumUses: pick(['token_num_uses'], (n) => f.int(n), prev?.tokenNumUses ?? 0),
    tokenNoDefaultPolicy: pick(['token_no_default_policy'], (n) => f.bool(n, false), prev?.tokenNoDefaultPolicy ?? false),
    tokenBoundCidrs: pick(['token_bound_cidrs'], (n) => f.commaList(n), prev?.tokenBoundCidrs ?? []),
  };
}

/** The token fields of a role read. */
export function tokenFieldsData(t: TokenFields): Record<string, unknown> {
  return {
    token_bound_cidrs: [...t.tokenBoundCidrs],
    token_explicit_max_ttl: t.tokenExplicitMaxTtl,
    token_max_ttl: t.tokenMaxTtl,
    token_no_default_policy: t.tokenNoDefaultPolicy,
    token_num_uses: t.tokenNumUses,
    token_period: t.tokenPeriod,
    token_policies: [...t.tokenPolicies],
    token_ttl: t.tokenTtl,
    token_type: 'default',
  };
}

/** What a login issues from a role's token fields. */
export function tokenFromRole(t: TokenFields): Pick<NewToken, 'policies' | 'numUses' | 'ttl' | 'backendMaxTtl' | 'explicitMaxTtl' | 'period'> {
  return {
    policies: sanitizePolicies(t.tokenPolicies, !t.tokenNoDefaultPolicy),
    numUses: t.tokenNumUses,
    ttl: t.tokenTtl,
    backendMaxTtl: t.tokenMaxTtl,
    explicitMaxTtl: t.tokenExplicitMaxTtl,
    period: t.tokenPeriod,
  };
}
