// chaos.redis-outage: the Express app follows its API key ring (in Vault) through a private Redis
// (pub/sub) and polls the ring every 5 s while Redis is away; the store's own ring refresh is set
// to 60 s so that only the follower can make a revoke take effect in time. 45 clients use a key
// that stays valid, 5 use the `victim` key. Redis is killed; while it is away the operator revokes
// the victim key (keyRingAdmin on Vault, publishing to the dead Redis fails). The revoke must take
// effect within the follower's polling interval (measured: revoke written -> first 401
// API_KEY_REVOKED), the victim key must never work again after that, no other request may fail.
// Redis then comes back and the follower subscribes again.
import { join } from 'node:path';
import { keyRingAdmin } from '@keyward/core';
import { redisKeyRingPublisher } from '@keyward/redis';
import { tokenAuth, vaultKeyRing } from '@keyward/vault';
import type { RunningPostgres } from '@keyward/testing';
import { ENVIRONMENT, startVaultBackend } from './backends.js';
import { startExpressChaosApp } from './express-app.js';
import { checkTrail, CLIENTS, inTempDir, mixedRoutes, reportChaos, REQUEST_TIMEOUT_MS, round, seconds, tally } from './harness.js';
import { OUTCOME, startLoad } from './load.js';
import { startPrivateRedis } from './redis.js';
import { scaled, sleep } from './scale.js';

const POLL_MS = 5_000;
const VICTIMS = 5;

export async function runRedisOutage(postgres: RunningPostgres): Promise<void> {
  await inTempDir(async (dir) => {
    const redis = await startPrivateRedis();
    const backend = await startVaultBackend(postgres, { ttl: '1h', maxTtl: '2h', clients: ['load', 'victim'] });
    const publisher = redisKeyRingPublisher({ url: redis.url });
    try {
      const auditFile = join(dir, 'audit.jsonl');
      const app = await startExpressChaosApp({ env: { ...backend.env, KEYWARD_API_KEY_RING_REFRESH: '60s' }, auditFile, redisUrl: redis.url, pollWhileAwayMs: POLL_MS });
      let closed = false;
      try {
        await app.follower!.subscribed();
        const admin = keyRingAdmin({
          backend: vaultKeyRing({ endpoint: backend.vault.url, auth: tokenAuth({ token: backend.vault.rootToken }), path: `demo/${ENVIRONMENT}/api-keys` }),
          pepper: backend.secrets.pepper,
          env: 'test',
          publish: (notice) => publisher.publish(notice),
        });
        const victim = backend.secrets.keys['victim']!;
        const load = startLoad({
          url: app.url,
          groups: [
            { clients: CLIENTS - VICTIMS, routes: mixedRoutes(backend.secrets.keys['load']!.key) },
            { clients: VICTIMS, routes: [{ kind: 'secret', key: victim.key }] },
          ],
          durationMs: scaled(30) + 20_000,
          maxRequests: 2_000_000,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          idPrefix: 'redis-',
          sessionSecret: backend.secrets.sessionSecret,
        });
        let killedAt = 0;
        let revokedAt = 0;
        let backAt = 0;
        let published: boolean | undefined;
        let resubscribedMs: number | null = null;
        let result;
        try {
          await sleep(scaled(5));
          await redis.kill();
          killedAt = Date.now();
          await sleep(scaled(3, 1000));
          const write = await admin.revoke(victim.keyId);
          revokedAt = Date.now();
          published = write.published;
          // At least two polling intervals with Redis away, then Redis comes back.
          await sleep(Math.max(scaled(12), 2 * POLL_MS + 1000));
          await redis.start();
          backAt = Date.now();
          const deadline = Date.now() + 10_000;
          while (app.follower!.state !== 'subscribed' && Date.now() < deadline) await sleep(50);
          resubscribedMs = app.follower!.state === 'subscribed' ? Date.now() - backAt : null;
          await sleep(scaled(5, 2000));
        } finally {
          load.stop();
          result = await load.done;
          await redis.start().catch(() => {}); // for a clean close of the follower
        }
        closed = true;
        await app.close();
        const victimRoute = result.routes.length - 1;
        const isVictim = (i: number) => result.raw.routes[i] === victimRoute;
        // The revoke takes effect when the first victim request sent after it is refused.
        const refusedVictims = result.select((i) => isVictim(i) && result.outcome(i) === OUTCOME.revoked);
        const firstRefusal = refusedVictims.length === 0 ? undefined : Math.min(...refusedVictims.map((i) => result.raw.ends[i]!));
        const effectMs = firstRefusal === undefined ? null : round(firstRefusal - revokedAt);
        // Wrong either way: refused before the revoke, or served once it had taken effect for a request sent later.
        const refusedEarly = refusedVictims.filter((i) => result.raw.starts[i]! < revokedAt).length;
        const servedLate = firstRefusal === undefined ? 0 : result.countOf(OUTCOME.ok, (i) => isVictim(i) && result.raw.starts[i]! > firstRefusal);
        const late = effectMs === null || effectMs > POLL_MS ? 1 : 0;
        const totals = tally(result);
        const { lostRecords, chain } = await checkTrail(auditFile, backend.secrets.auditKey, result);
        reportChaos(
          'chaos.redis-outage',
          {
            framework: 'express',
            ...totals,
            failedRequests: totals.failedRequests + refusedEarly + servedLate,
            lostRecords,
            chainVerified: chain.ok,
            records: chain.records,
            redisAwayS: seconds(backAt - killedAt),
            revokeWrittenAfterKillS: seconds(revokedAt - killedAt),
            revokePublished: published,
            revokeEffectiveMs: effectMs,
            pollingIntervalMs: POLL_MS,
            revokeWithinPollingInterval: late === 0,
            victimRequestsRefused: refusedVictims.length,
            victimServedAfterRevokeTookEffect: servedLate,
            victimRefusedBeforeRevoke: refusedEarly,
            resubscribedAfterRedisBackMs: resubscribedMs === null ? null : round(resubscribedMs),
          },
          result.raw.reasons,
        );
      } finally {
        if (!closed) await app.close().catch(() => {});
      }
    } finally {
      await publisher.close().catch(() => {});
      await backend.close();
      await redis.stop();
    }
  });
}
