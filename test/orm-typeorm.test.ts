import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretStore, type LeaseEvent, type SecretProvider } from '@keyward/core';
import { typeormDriver, type KeywardPgPool, type KeywardPgPoolEvents } from '@keyward/pg';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import pg from 'pg';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { nextEvent } from '@keyward/test-support';
import { asAdmin, eventually, randomPassword, sessions } from '@keyward/test-support/postgres';

const ROTATIONS = 3;
const WORKERS = 15;

@Entity('ledger_entry')
class LedgerEntry {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column('int')
  worker!: number;

  @Column('text')
  who!: string;
}

describe('@keyward/pg typeormDriver: TypeORM on dynamic users rotated 3 times under 15 workers', () => {
  let postgres: RunningPostgres;
  const connection = () => ({ host: '127.0.0.1', port: postgres.port, database: postgres.database });

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    // The schema belongs to the owner of the database, not to a user that will be dropped.
    const owner = new DataSource({ type: 'postgres', ...connection(), username: postgres.user, password: postgres.password, entities: [LedgerEntry], synchronize: true });
    await owner.initialize();
    await owner.destroy();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });

  async function appRoles(): Promise<string[]> {
    return asAdmin(postgres, async (admin) => (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'app_%' ORDER BY rolname`)).rows.map((r) => r.rolname));
  }

  /** A new login role at every read, under a lease; revoking it ends the role's sessions and drops it, as Vault does. */
  function dynamicUsers(openAtRevocation: { user: string; sessions: number }[]): SecretProvider {
    let n = 0;
    return {
      kind: 'dynamic-users',
      locate: (ref) => `dynamic-users:${ref.path}`,
      async read() {
        const username = `app_${++n}`;
        const password = randomPassword('typeorm');
        await asAdmin(postgres, async (admin) => {
          await admin.query(`CREATE ROLE ${username} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
          await admin.query(`GRANT SELECT, INSERT ON ledger_entry TO ${username}`);
          await admin.query(`GRANT USAGE ON SEQUENCE ledger_entry_id_seq TO ${username}`);
        });
        return { value: { username, password }, version: `u${n}`, lease: { id: username, ttlMs: 60_000, renewable: false, issuedAt: new Date() } };
      },
      async revoke(lease) {
        await asAdmin(postgres, async (admin) => {
          const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [lease.id]);
          openAtRevocation.push({ user: lease.id, sessions: rows[0]!.n });
          await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [lease.id]);
          await admin.query(`DROP OWNED BY ${lease.id}`);
          await admin.query(`DROP ROLE ${lease.id}`);
        });
      },
    };
  }

  it('fails no query; each old user is revoked after its clients closed, and dropped', async () => {
    const openAtRevocation: { user: string; sessions: number }[] = [];
    const store = await new SecretStore({ app: 'billing', environment: 'test', providers: { test: dynamicUsers(openAtRevocation) }, secrets: { database: {} }, refresh: false, revokeLeasesOnClose: true }).start();
    const dataSource = new DataSource({
      type: 'postgres',
      driver: typeormDriver({ store, secret: 'database', applicationName: ({ user }) => `typeorm-${user}`, drainTimeout: '10s' }),
      ...connection(),
      entities: [LedgerEntry],
      synchronize: true,
      poolSize: 8,
    });
    await dataSource.initialize();
    const pool = (dataSource.driver as unknown as { master: KeywardPgPool }).master;
    const switches: KeywardPgPoolEvents['generation'][0][] = [];
    const drains: KeywardPgPoolEvents['drained'][0][] = [];
    pool.on('generation', (e) => switches.push(e));
    pool.on('drained', (e) => drains.push(e));
    const repository = dataSource.getRepository(LedgerEntry);

    const failures: string[] = [];
    const rowsByUser = new Map<string, number>();
    let queries = 0;
    let stopped = false;
    const deadline = Date.now() + 15_000;
    async function worker(id: number): Promise<void> {
      while (!stopped && Date.now() < deadline) {
        try {
          const { identifiers } = await repository.insert({ worker: id, who: () => 'current_user' });
          queries++;
          const row = await repository.findOneByOrFail({ id: identifiers[0]!['id'] as number });
          queries++;
          await repository.find({ where: { worker: id }, order: { id: 'DESC' }, take: 5 });
          queries++;
          rowsByUser.set(row.who, (rowsByUser.get(row.who) ?? 0) + 1);
        } catch (err) {
          failures.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
        }
      }
    }
    const until = (user: string, rows: number) => eventually(async () => rowsByUser.get(user) ?? 0, (n) => n >= rows || stopped, 10_000, `${rows} rows by ${user}`);

    const started = Date.now();
    const running = Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i + 1)));
    const users = ['app_1'];
    const rolesAfterRevocation: string[][] = [];
    try {
      await until('app_1', 50);
      for (let n = 1; n <= ROTATIONS; n++) {
        const old = store.get('database')!;
        const revoked = nextEvent<LeaseEvent>(store, 'leaseRevoked', 10_000, (e) => e.leaseId === old.lease!.id);
        await store.refresh('database');
        users.push(`app_${n + 1}`);
        await revoked;
        rolesAfterRevocation.push(await appRoles());
        await until(users.at(-1)!, 50);
      }
    } finally {
      stopped = true;
      await running;
    }
    const finalSessions = await eventually(() => sessions(postgres), (s) => s.every((x) => x.user === users.at(-1)), 3000, 'only sessions of the current user');
    const finalRoles = await appRoles();
    await dataSource.destroy();
    await store.close();
    process.stdout.write(
      `${JSON.stringify({ scenario: 'typeorm dynamic users', workers: WORKERS, rotations: switches.length, queries, failures: failures.length, rowsByUser: Object.fromEntries(rowsByUser), closedOnRelease: drains.reduce((n, d) => n + d.closedOnRelease, 0), forced: drains.reduce((n, d) => n + d.forced, 0), elapsedMs: Date.now() - started })}\n`,
    );

    expect(failures).toEqual([]);
    expect(switches.map((s) => s.version)).toEqual(['u2', 'u3', 'u4']);
    expect(drains.slice(0, ROTATIONS).map((d) => [d.version, d.forced])).toEqual([['u1', 0], ['u2', 0], ['u3', 0]]);
    for (const user of users) expect(rowsByUser.get(user) ?? 0).toBeGreaterThanOrEqual(50);
    // Keyward let each lease go once its clients had closed (the last at store.close(), after
    // dataSource.destroy()): no revocation found a session to end.
    expect(openAtRevocation).toEqual(users.map((user) => ({ user, sessions: 0 })));
    rolesAfterRevocation.forEach((roles, i) => expect(roles).not.toContain(users[i]));
    expect(finalRoles).toEqual(['app_4']);
    expect(await appRoles()).toEqual([]);
    expect(finalSessions.every((s) => s.applicationName === 'typeorm-app_4')).toBe(true);
  }, 20_000);
});
