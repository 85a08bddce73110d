// chaos.vault-outage and chaos.rotation-during-outage: the Express app on Vault (KV secrets,
// dynamic PostgreSQL credentials, AppRole), 50 clients reading a secret, querying PostgreSQL
// through the Keyward pool and signing (fail-closed), while Vault is unreachable: sealed (503) for
// the first half of the outage, then dropping every connection without an answer for the second.
// The role's TTLs put a lease renewal (vault-outage) or the credentials' replacement
// (rotation-during-outage, max_ttl near) inside the outage, and the run goes on past the end of
// the lease that was current when Vault went away: a lease left unrenewed shows as failed queries.
import { join } from 'node:path';
import type { RunningPostgres } from '@keyward/testing';
import { startVaultBackend } from './backends.js';
import { startExpressChaosApp } from './express-app.js';
import { checkTrail, inTempDir, reportChaos, seconds, standardLoad, storeEvents, tally } from './harness.js';
import { firstNotOk, okAgainAt, statusesSeen, watchHealth } from './health.js';
import { scaled, sleep } from './scale.js';

export interface VaultOutagePlan {
  readonly name: string;
  /** The role's default_ttl and max_ttl, seconds. */
  readonly ttlS: number;
  readonly maxTtlS: number;
  /** Outage start after the lease was issued, and its length (ms). */
  readonly outageStartMs: number;
  readonly outageMs: number;
  /** What the plan puts inside the outage, for the report. */
  readonly inside: string;
}

/** The renewal at ~2/3 of an 80 s TTL (48 to 59 s, with jitter) falls inside an outage from 5 s to 65 s; the lease ends at 80 s. */
export function vaultOutagePlan(): VaultOutagePlan {
  const outageMs = scaled(60);
  const ttlS = Math.max(8, Math.round((scaled(60) + scaled(20)) / 1000));
  return { name: 'chaos.vault-outage', ttlS, maxTtlS: 3600, outageStartMs: scaled(5), outageMs, inside: 'a lease renewal (at ~2/3 of the TTL)' };
}

/**
 * TTL 45 s, max_ttl 48 s: the renewal at ~30 s falls in an outage from 5 s to 35 s; the next
 * renewal could only get 13 s (< 1/3 of the TTL), so the credentials must be replaced (a
 * rotation) before the lease ends at 45 s, once Vault is back.
 */
export function rotationDuringOutagePlan(): VaultOutagePlan {
  const ttlS = Math.max(6, Math.round(scaled(45) / 1000));
  return { name: 'chaos.rotation-during-outage', ttlS, maxTtlS: ttlS + Math.max(1, Math.round(scaled(3) / 1000)), outageStartMs: scaled(5), outageMs: scaled(30), inside: 'the credentials\u2019 replacement (max_ttl near: renewals come back short)' };
}

const RECOVERY_CAP_MS = 45_000;

export async function runVaultOutage(postgres: RunningPostgres, plan: VaultOutagePlan): Promise<void> {
  await inTempDir(async (dir) => {
    const backend = await startVaultBackend(postgres, { ttl: `${plan.ttlS}s`, maxTtl: `${plan.maxTtlS}s` });
    try {
      const auditFile = join(dir, 'audit.jsonl');
      const app = await startExpressChaosApp({ env: backend.env, auditFile });
      let closed = false;
      try {
        const events = storeEvents(app.store);
        const lease = app.store.get('database').lease!;
        const issuedAt = lease.issuedAt.getTime();
        const leaseEndsAt = issuedAt + lease.ttlMs;
        const outageAt = issuedAt + plan.outageStartMs;
        const load = standardLoad(app.url, backend.secrets, outageAt - Date.now() + plan.outageMs + RECOVERY_CAP_MS + 20_000, 'vault-');
        const health = watchHealth(app.url);
        let outageEnd = 0;
        let result;
        let samples;
        try {
          await sleep(Math.max(0, outageAt - Date.now()));
          // Sealed for the first half, then every connection dropped with no answer for the second.
          backend.vault.seal();
          await sleep(plan.outageMs / 2);
          backend.vault.dropConnections(Number.MAX_SAFE_INTEGER);
          backend.vault.unseal();
          await sleep(plan.outageMs / 2);
          backend.vault.dropConnections(0);
          outageEnd = Date.now();
          // Then until health is ok again and the lease current at the outage would have ended (+10 s), at most RECOVERY_CAP_MS.
          const mustRunUntil = Math.max(leaseEndsAt + scaled(10, 2000), outageEnd + scaled(5, 2000));
          const cap = outageEnd + RECOVERY_CAP_MS;
          while (Date.now() < cap && (Date.now() < mustRunUntil || app.store.health().status !== 'ok')) await sleep(250);
          await sleep(1500); // the health watch sees the ok too
        } finally {
          backend.vault.unseal();
          backend.vault.dropConnections(0);
          load.stop();
          result = await load.done;
          samples = await health.stop();
        }
        closed = true;
        await app.close();
        const totals = tally(result);
        const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
        const degradedAt = firstNotOk(samples, outageAt);
        const okAt = okAgainAt(samples, outageEnd);
        const rel = (at: number) => seconds(at - issuedAt);
        const db = events.filter((e) => e.name === 'database').map((e) => ({ at: rel(e.at), event: e.event, ...(e.detail === undefined ? {} : { detail: e.detail }) }));
        reportChaos(
          plan.name,
          {
            framework: 'express',
            ...totals,
            lostRecords,
            chainVerified: chain.ok,
            records: chain.records,
            outageS: seconds(plan.outageMs),
            outage: 'sealed (503) for the first half, connections dropped without an answer for the second',
            inside: plan.inside,
            roleTtlS: plan.ttlS,
            roleMaxTtlS: plan.maxTtlS,
            leaseTimeline: { outageFromS: rel(outageAt), outageToS: rel(outageEnd), leaseEndS: rel(leaseEndsAt), databaseEvents: db },
            healthSeen: statusesSeen(samples, outageAt),
            degradedAfterS: degradedAt === undefined ? null : seconds(degradedAt - outageAt),
            timeToRecoverS: okAt === undefined ? null : seconds(okAt - outageEnd),
            rotations: events.filter((e) => e.event === 'rotated' && e.name === 'database').length,
          },
          result.raw.reasons,
        );
      } finally {
        if (!closed) await app.close().catch(() => {});
      }
    } finally {
      await backend.close();
    }
  });
}
