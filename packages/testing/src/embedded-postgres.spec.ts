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

  it('keeps its password out of inspect and JSON', () => {
    for (const text of [inspect(postgres), JSON.stringify(postgres)]) expect(text).not.toContain(postgres.password);
  });
});
