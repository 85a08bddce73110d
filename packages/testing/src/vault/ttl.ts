import { formatGoDuration } from './durations.js';
import { badRequest } from './http-envelope.js';

/** `vault server -dev` mount defaults: 768h default and maximum lease TTL. */
export const SYSTEM_DEFAULT_TTL_S = 768 * 3600;
export const SYSTEM_MAX_TTL_S = 768 * 3600;

export interface TtlRequest {
  /** Requested increment (renewals) in seconds; 0 for none. */
  readonly increment: number;
  /** The backend's TTL (role default_ttl, token ttl) in seconds; 0 for the system default. */
  readonly backendTtl: number;
  /** The backend's max TTL (role max_ttl) in seconds; 0 for the system maximum. */
  readonly backendMaxTtl: number;
  /** A token's explicit_max_ttl in seconds; 0 for none. */
  readonly explicitMaxTtl?: number;
  /** A periodic token's period in seconds. */
  readonly period?: number;
  /** When the lease or token was issued (ms); undefined for "now". */
  readonly startMs?: number;
}

export interface TtlResult {
  readonly ttl: number;
  readonly warnings: string[];
}

/**
 * A port of Vault's `framework.CalculateTTL`: whole seconds, capped at the max TTL counted from
 * issue time, with Vault's warning when capped and its error once past the maximum.
 */
export function calculateTtl(r: TtlRequest, nowMs = Date.now()): TtlResult {
  const now = Math.floor(nowMs / 1000);
  const start = r.startMs === undefined ? now : Math.floor(r.startMs / 1000);
  let maxTtl = SYSTEM_MAX_TTL_S;
  if (r.backendMaxTtl > 0 && r.backendMaxTtl < maxTtl) maxTtl = r.backendMaxTtl;
  const explicit = r.explicitMaxTtl ?? 0;
  if (explicit > 0 && explicit < maxTtl) maxTtl = explicit;
  const warnings: string[] = [];
  let ttl: number;
  let maxValidTime: number | undefined;
  const period = r.period ?? 0;
  if (period > 0) {
    ttl = period;
    if (period > maxTtl) {
      warnings.push(`period of ${q(period)} exceeded the effective max_ttl of ${q(maxTtl)}; period value is capped accordingly`);
      ttl = maxTtl;
    }
    if (explicit > 0) maxValidTime = start + explicit;
  } else {
    ttl = r.increment > 0 ? r.increment : r.backendTtl > 0 ? r.backendTtl : SYSTEM_DEFAULT_TTL_S;
    maxValidTime = start + maxTtl;
  }
  if (maxValidTime !== undefined) {
    const maxValidTtl = maxValidTime - now;
    if (maxValidTtl <= 0) throw badRequest('past the max TTL, cannot renew');
    if (maxValidTtl < ttl) {
      warnings.push(`TTL of ${q(ttl)} exceeded the effective max_ttl of ${q(maxValidTtl)}; TTL value is capped accordingly`);
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}

/** Go's `%q` of a time.Duration given in seconds. */
function q(seconds: number): string {
  return JSON.stringify(formatGoDuration(seconds * 1000));
}
