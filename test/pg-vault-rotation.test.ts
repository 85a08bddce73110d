import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type LeaseEvent, type SecretProvider } from '@keyward/core';
import type { KeywardPgPoolEvents } from '@keyward/pg';
import { mountPostgresEngine, startEmbeddedPostgres, startVaultDevServer, type RunningPostgres, type VaultDevServer } from '@keyward/testing';
import { createVaultConnection, tokenAuth, vaultDatabaseCredentials, type VaultConnection } from '@keyward/vault';
import { canary, nextEvent } from '@keyward/test-support';
import { asAdmin, createLedger, eventually, ledgerGrants, scenarioPool, sessions, startWorkload, type WorkloadReport } from '@keyward/test-support/postgres';

type Drained = KeywardPgPoolEvents['drained'][0];
type Switched = KeywardPgPoolEvents['generation'][0];
type Credentials = { username: string; password: string };

const ROTATIONS = 10;
const WORKERS = 50;

/**
 * Vault's provider, asked for new credentials at every read: each `store.refresh()` is then one
 * rotation. Before a revocation goes on to Vault, `beforeRevoke` sees the lease's user.
 */
function rotatingVaultCredentials(provider: SecretProvider, beforeRevoke: (username: string) => Promise<void>): SecretProvider {
  const users = new Map<string, string>();
  return {
    ...provider,
    async read(ref, { signal }) {
      const result = await provider.read(ref, { signal });
      if (typeof result === 'object' && result.lease) users.set(result.lease.id, (result.value as Credentials).username);
      return result;
    },
    async revoke(lease, context) {
      await beforeRevoke(users.get(lease.id)!);
      await provider.revoke!(lease, context);
    },
  };
}

describe('@keyward/pg: Vault dynamic credentials rotated 10 times under 50 workers', () => {
  let postgres: RunningPostgres;
  let server: VaultDevServer;
  let vault: VaultConnection;
  const rootToken = canary('root-token');
  /** PostgreSQL's own log, in chunks: a session ended by the revocation would say so here. */
  const serverLog: string[] = [];
  /** Sessions an old user still had open a second after the pool let its lease go (a pool that leaks would show them). */
  const openAtRevocation: { user: string; sessions: number }[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  async function appRoles(): Promise<string[]> {
    return asAdmin(postgres, async (admin) => (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' ORDER BY rolname`)).rows.map((r) => r.rolname));
  }

  /** Lets sessions that are closing finish (a second at most), then records what is still open. */
  async function recordOpenSessions(user: string): Promise<void> {
    const open = await eventually(() => sessions(postgres), (s) => s.every((x) => x.user !== user), 1000, 'closing sessions').catch(() => sessions(postgres));
    openAtRevocation.push({ user, sessions: open.filter((x) => x.user === user).length });
  }

  beforeAll(async () => {
    [postgres, server] = await Promise.all([startEmbeddedPostgres({ onLog: (line) => serverLog.push(line) }), startVaultDevServer({ rootToken })]);
    await createLedger(postgres);
    // Rotations are driven by the test; the TTLs only have to outlive it (no renewal meanwhile).
    await mountPostgresEngine(server, postgres, {
      connection: 'billing-db',
      roles: { billing: { defaultTtl: '1m', maxTtl: '2m', grants: ledgerGrants('"{{name}}"') } },
    });
    vault = createVaultConnection({ endpoint: server.url, auth: tokenAuth({ token: rootToken }) });
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await vault?.close();
    await server?.close();
    await postgres?.stop();
  });

  it('fails no query; each old user closes its sessions, then Vault revokes it and drops the role; 10 generation switches', async () => {
    const store = await new SecretStore({
      app: 'billing',
      environment: 'production',
      providers: { production: rotatingVaultCredentials(vaultDatabaseCredentials({ connection: vault, role: 'billing' }), recordOpenSessions) },
      secrets: { database: {} },
      refresh: false,
      revokeLeasesOnClose: true,
    }).start();
    const { pool, events } = scenarioPool(postgres, store, { max: 10, min: 2, drainTimeout: '20s' });
    cleanups.push(() => pool.end(), () => store.close());
    const { switches, drains, errors: poolErrors } = events;
    const users = [(store.get('database').reveal() as Credentials).username];
    const rolesAfterRevocation: string[][] = [];
    const started = Date.now();
    const workload = startWorkload(pool, { workers: WORKERS, maxDurationMs: 25_000 });
    let report: WorkloadReport;
    try {
      await workload.until((r) => r.completed >= 500, 10_000, 'the workers under way');
      for (let n = 1; n <= ROTATIONS; n++) {
        const old = store.get('database');
        const oldUser = (old.reveal() as Credentials).username;
        const switched = nextEvent<Switched>(pool, 'generation', 10_000);
        const drained = nextEvent<Drained>(pool, 'drained', 10_000, (e) => e.version === old.version);
        const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 10_000, (e) => e.leaseId === old.lease!.id);
        await store.refresh('database');
        const next = store.get('database');
        users.push((next.reveal() as Credentials).username);
        expect((await switched).version).toBe(next.version);
        await drained;
        await revoked;
        // Revoked by Vault once the pool let go: the role is gone, and so are its sessions.
        rolesAfterRevocation.push(await appRoles());
        expect(rolesAfterRevocation.at(-1)).not.toContain(oldUser);
        const done = workload.report().completed;
        await workload.until((r) => r.completed >= done + 200 && (r.readsByUser.get(users.at(-1)!) ?? 0) >= 50, 10_000, `queries as ${users.at(-1)}`);
      }
    } finally {
      report = await workload.stop();
    }
    const current = users.at(-1)!;
    const finalSessions = await eventually(() => sessions(postgres), (s) => s.every((x) => x.user === current), 3000, 'only sessions of the current user');
    const finalRoles = await appRoles();
    const terminatedByRevocation = serverLog.join('\n').split('terminating connection due to administrator command').length - 1;
    process.stdout.write(
      `${JSON.stringify({ scenario: 'pg vault dynamic users', workers: WORKERS, rotations: switches.length, queries: report.completed, failures: report.failures.length, transactions: report.transactions, closedOnRelease: drains.reduce((n, d) => n + d.closedOnRelease, 0), forced: drains.reduce((n, d) => n + d.forced, 0), terminatedByRevocation, elapsedMs: Date.now() - started })}\n`,
    );

    expect(report.failures).toEqual([]);
    expect(poolErrors).toEqual([]);
    expect(switches).toHaveLength(ROTATIONS);
    expect(new Set(users).size).toBe(ROTATIONS + 1); // a new user each time
    expect(drains.map((d) => d.forced)).toEqual(Array(ROTATIONS).fill(0));
    expect(drains.reduce((n, d) => n + d.closedOnRelease, 0)).toBeGreaterThan(0);
    // Every user did work, and the work was real.
    for (const user of users) expect(report.readsByUser.get(user) ?? 0).toBeGreaterThan(0);
    expect(report.completed).toBeGreaterThan(ROTATIONS * 200);
    // Each old role was gone right after its revocation; in the end only the current user remains, with all sessions.
    rolesAfterRevocation.forEach((roles, i) => expect(roles).not.toContain(users[i]));
    expect(finalRoles).toEqual([current]);
    expect(finalSessions.length).toBeGreaterThan(0);
    // No session was left open with old credentials when Vault came to revoke them, so it ended none.
    expect(openAtRevocation).toEqual(users.slice(0, ROTATIONS).map((user) => ({ user, sessions: 0 })));
    expect(terminatedByRevocation).toBe(0);
  }, 30_000);
});
