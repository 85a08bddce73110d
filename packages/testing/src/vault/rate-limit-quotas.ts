import { VaultHttpError } from './http-envelope.js';

interface Quota {
  readonly name: string;
  readonly path: string;
  readonly rate: number;
  readonly intervalMs: number;
  windowStart: number;
  count: number;
}

/** Paths Vault never rate-limits. */
const EXEMPT = new Set(['sys/health', 'sys/seal-status', 'sys/unseal', 'sys/generate-root/attempt', 'sys/generate-root/update']);

/**
 * Rate-limit quotas (`sys/quotas/rate-limit/:name`): `rate` requests per `interval` under `path`
 * (empty for all paths); past that, 429 with Vault's message and a Retry-After header.
 */
export class RateLimitQuotas {
  private readonly quotas = new Map<string, Quota>();

  set(name: string, path: string, rate: number, intervalMs: number): void {
    this.quotas.set(name, { name, path: path.replace(/^\/+/, ''), rate, intervalMs, windowStart: Date.now(), count: 0 });
  }

  get(name: string): Quota | undefined {
    return this.quotas.get(name);
  }

  delete(name: string): void {
    this.quotas.delete(name);
  }

  /** Counts a request; throws 429 when a matching quota is exhausted. */
  check(path: string, now = Date.now()): void {
    if (EXEMPT.has(path)) return;
    for (const q of this.quotas.values()) {
      if (q.path !== '' && !path.startsWith(q.path)) continue;
      if (now - q.windowStart >= q.intervalMs) {
        q.windowStart = now;
        q.count = 0;
      }
      q.count += 1;
      if (q.count > q.rate) {
        const retry = Math.max(1, Math.ceil((q.windowStart + q.intervalMs - now) / 1000));
        throw Object.assign(new VaultHttpError(429, [`request path ${JSON.stringify(path)}: rate limit quota exceeded`]), { retryAfter: retry });
      }
    }
  }
}
