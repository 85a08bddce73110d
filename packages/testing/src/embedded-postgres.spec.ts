import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';

describe('startEmbeddedPostgres', () => {
  let postgres: RunningPostgres;
  beforeAll(async () => {
    postgres = await startEmbeddedPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });

  it('runs a real PostgreSQL that checks passwords with scram-sha-256', async () => {
    const admin = await postgres.connect();
    try {
      const { rows } = await admin.query<{ method: string }>("SELECT current_setting('password_encryption') AS method");
      expect(rows[0]!.method).toBe('scram-sha-256');
      await admin.query(`CREATE ROLE probe LOGIN PASSWORD 'right-password'`);
    } finally {
      await admin.end();
    }
    const login = async (password: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: 'probe', password, database: postgres.database });
      await client.connect();
      await client.end();
    };
    await expect(login('right-password')).resolves.toBeUndefined();
    await expect(login('wrong-password')).rejects.toMatchObject({ code: '28P01' });
  });

  it('halts and resumes on the same port with its data, ending open sessions', async () => {
    const admin = await postgres.connect();
    await admin.query(`CREATE TABLE IF NOT EXISTS kept (v int)`);
    await admin.query(`INSERT INTO kept VALUES (7)`);
    const ended = new Promise<unknown>((resolve) => admin.on('error', resolve));
    await postgres.halt();
    await expect(ended).resolves.toMatchObject({ code: '57P01' }); // admin_shutdown, as a restart ends sessions
    await expect(postgres.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await postgres.resume();
    const again = await postgres.connect();
    try {
      expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 7 }]);
    } finally {
      await again.end();
    }
  }, 60_000);

  it('keeps its password out of inspect and JSON', () => {
    for (const text of [inspect(postgres), JSON.stringify(postgres)]) expect(text).not.toContain(postgres.password);
  });
});
