import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KeywardError } from '@keyward/core';
import { startEmbeddedPostgres, type RunningPostgres } from '@keyward/testing';
import type pg from 'pg';
import { pgDriver } from './pg-driver.js';
import { asAdmin, createLoginRole, eventually, randomPassword, sessions } from '@keyward/test-support/postgres';

describe('pgDriver on a real PostgreSQL', () => {
  let postgres: RunningPostgres;
  const password = randomPassword('canary');
  let where: { host: string; port: number; database: string };
  const signal = () => AbortSignal.timeout(5000);

  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
    where = { host: '127.0.0.1', port: postgres.port, database: postgres.database };
    await createLoginRole(postgres, 'driver_app', password);
    await asAdmin(postgres, (admin) => admin.query(`CREATE ROLE no_login PASSWORD 'whatever' NOLOGIN`));
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });

  it('logs in with { username, password } or { user, password }, proves it with SELECT 1, and closes politely', async () => {
    const removed: pg.Client[] = [];
    const connected: pg.Client[] = [];
    const driver = pgDriver({ ...where, applicationName: ({ user, version }) => `${user}@${version ?? 'none'}` }, { connected: (c) => connected.push(c), removed: (c) => removed.push(c) });
    const a = await driver.connect({ username: 'driver_app', password, version: 'v7' }, signal());
    const b = await driver.connect({ user: 'driver_app', password }, signal());
    await driver.check!(a, signal());
    expect((await a.query(`SELECT current_user AS who, current_setting('application_name') AS app`)).rows[0]).toEqual({ who: 'driver_app', app: 'driver_app@v7' });
    expect((await b.query(`SELECT current_setting('application_name') AS app`)).rows[0]).toEqual({ app: 'driver_app@none' });
    expect(connected).toEqual([a, b]);
    await driver.close(a);
    await driver.close(a); // once
    driver.destroy(b);
    expect(removed).toEqual([a, b]);
    await eventually(() => sessions(postgres), (s) => s.every((x) => x.user !== 'driver_app'), 2000, 'both sessions gone');
  });

  it('reads 28P01 (wrong password) and 28000 (no login) as refused credentials, and nothing else', async () => {
    const driver = pgDriver(where);
    const wrong = await driver.connect({ username: 'driver_app', password: 'not-it' }, signal()).catch((e: unknown) => e);
    const noLogin = await driver.connect({ username: 'no_login', password: 'whatever' }, signal()).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: '28P01' });
    expect(noLogin).toMatchObject({ code: '28000' });
    expect([driver.isAuthFailure(wrong), driver.isAuthFailure(noLogin)]).toEqual([true, true]);
    const client = await driver.connect({ username: 'driver_app', password }, signal());
    const sqlError = await client.query('SELECT nope').catch((e: unknown) => e);
    expect(driver.isAuthFailure(sqlError)).toBe(false);
    expect(driver.isAuthFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    await driver.close(client);
  });

  it('tells of a dropped session through the error hook, never through a crash, and not for clients it ends itself', async () => {
    const errors: [Error, pg.Client][] = [];
    const driver = pgDriver(where, { error: (err, client) => errors.push([err, client]) });
    const victim = await driver.connect({ username: 'driver_app', password }, signal());
    const ended = await driver.connect({ username: 'driver_app', password }, signal());
    await asAdmin(postgres, (admin) => admin.query('SELECT pg_terminate_backend($1)', [(victim as unknown as { processID: number }).processID]));
    await eventually(async () => errors.length, (n) => n > 0, 2000, 'the error hook');
    expect(errors[0]).toEqual([expect.objectContaining({ code: '57P01' }), victim]);
    driver.destroy(ended);
    await driver.close(victim);
    await new Promise((r) => setImmediate(r));
    expect(errors.every(([, c]) => c === victim)).toBe(true);
  });

  describe('against a server that never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      silent = createServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });

    it('gives up at the signal: POOL_TIMEOUT naming the server, or the pool’s own reason', async () => {
      const port = (silent.address() as AddressInfo).port;
      const driver = pgDriver({ host: '127.0.0.1', port, database: 'x' });
      const started = Date.now();
      const timedOut = await driver.connect({ username: 'u', password }, AbortSignal.timeout(100)).catch((e: unknown) => e);
      expect(timedOut).toMatchObject({ code: 'POOL_TIMEOUT', message: `PostgreSQL at 127.0.0.1:${port} did not answer within connectTimeout` });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(String((timedOut as Error).message)).not.toContain(password);

      const closing = new AbortController();
      const pending = driver.connect({ username: 'u', password }, closing.signal).catch((e: unknown) => e);
      closing.abort(new KeywardError('POOL_CLOSED', 'the pool has ended'));
      await expect(pending).resolves.toMatchObject({ code: 'POOL_CLOSED' });
    });
  });
});
