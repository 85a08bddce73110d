import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import mysql from 'mysql2/promise';
import type { DatabaseSecret, RotationEvent, RotationHandler, RotationStrategy } from '@keyward/aws-rotation';
import { expectNoCanary } from '../canary.js';
import type { DatabaseTarget } from './database-target.js';
import { rotationFixture, type RotationFixture } from './rotation-fixture.js';

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const STRATEGIES: readonly RotationStrategy[] = ['single-user', 'alternating-users'];

/** Starts the target and an emulator before the file's tests, and stops both after. */
function useFixture(makeTarget: () => Promise<DatabaseTarget>): () => { target: DatabaseTarget; fixture: RotationFixture } {
  let target: DatabaseTarget;
  let fixture: RotationFixture;
  beforeAll(async () => {
    target = await makeTarget();
    fixture = await rotationFixture(target, `kwrot_${randomBytes(3).toString('hex')}`);
  }, 60_000);
  afterAll(async () => {
    await fixture?.close();
    await target?.dispose();
  });
  return () => ({ target, fixture });
}

/**
 * The server saw the password changes (so the log is the real SQL) yet never a password: a failing
 * statement and `log_statement = ddl` write the statement text to the server log.
 */
async function expectNoPasswordInServerLog(target: DatabaseTarget, passwords: readonly string[]): Promise<void> {
  if (!target.serverLog) return;
  const log = await target.serverLog();
  expect(log).toMatch(/ALTER ROLE/);
  expectNoCanary({ 'the database server log': log }, ...passwords);
}

/** Full rotations with both strategies, the guard checks, and no value in any log line. */
export function fullRotationScenarios(engine: DatabaseTarget['engine'], makeTarget: () => Promise<DatabaseTarget>): void {
  const get = useFixture(makeTarget);

  it('single-user: after each of 3 rotations the new AWSCURRENT logs in and the password before it is refused', async () => {
    const { target, fixture } = get();
    fixture.emulator.setRotationHandler(fixture.handler('single-user'));
    const { arn, initial } = await fixture.userSecret('single-user');
    const passwords = [initial.password];
    let before = initial;
    for (let n = 0; n < 3; n++) {
      const token = await fixture.rotate(arn);
      const current = await fixture.value(arn, 'AWSCURRENT');
      expect((await fixture.stages(arn))[token]).toEqual(['AWSCURRENT']);
      expect(current).toEqual({ ...before, password: expect.any(String) });
      expect(current.password).not.toBe(before.password);
      expect(current.password).not.toMatch(/[/@"'\\ ]/);
      expect(await target.login(current)).toBe('ok');
      expect(await target.login(before)).toBe('refused');
      passwords.push(current.password);
      before = current;
    }
    expect(fixture.logs.length).toBeGreaterThan(0);
    for (const line of fixture.logs) {
      expect(Object.keys(JSON.parse(line))).toEqual(['step', 'secretArn', 'versionId', 'message']);
      for (const password of passwords) expect(line).not.toContain(password);
    }
    await expectNoPasswordInServerLog(target, passwords);
  });

  it('alternating users: user and user_clone take turns; AWSPREVIOUS logs in until the rotation after', async () => {
    const { target, fixture } = get();
    fixture.emulator.setRotationHandler(fixture.handler('alternating-users'));
    const { arn, initial } = await fixture.userSecret('alternating-users');
    const seen: DatabaseSecret[] = [initial];
    for (let n = 0; n < 4; n++) {
      await fixture.rotate(arn);
      const current = await fixture.value(arn, 'AWSCURRENT');
      expect(current.username).toBe(n % 2 === 0 ? `${initial.username}_clone` : initial.username);
      expect(current.masterarn).toBe(initial.masterarn);
      expect(await fixture.value(arn, 'AWSPREVIOUS')).toEqual(seen.at(-1));
      expect(await target.login(current)).toBe('ok');
      expect(await target.login(seen.at(-1)!)).toBe('ok');
      // Two rotations back is the same user as now, with the password it had then.
      if (seen.length >= 2) expect(await target.login(seen.at(-2)!)).toBe('refused');
      seen.push(current);
    }
    await expectNoPasswordInServerLog(target, seen.map((s) => s.password));
  });

  // MySQL takes any password; PostgreSQL only what SASLprep leaves as it is.
  if (engine === 'postgres') {
    it('a pending password PostgreSQL would SASLprep (non-ASCII) is INVALID_SECRET before any change', async () => {
      const { target, fixture } = get();
      const password = `Pässwörd-${randomBytes(12).toString('hex')}`;
      const { arn, token, initial } = await fixture.pendingPassword(password);
      const error = await fixture.stepError(arn, token, 'setSecret');
      expect(error).toMatchObject({ name: 'RotationError', code: 'INVALID_SECRET', message: expect.stringMatching(/ASCII/) });
      expectNoCanary({ error: inspect(error), logs: fixture.logs.join('\n') }, password);
      expect(await target.login(initial)).toBe('ok');
    });
  }

  if (engine === 'mysql') {
    it('a MySQL error that quotes the statement holds no password: its text is redacted, its code and errno kept', async () => {
      const { target, fixture } = get();
      const [head, tail] = [randomBytes(12).toString('hex'), randomBytes(12).toString('hex')];
      const password = `${head}'${tail}`;
      const { arn, token, initial } = await fixture.pendingPassword(password);
      // A server with sql_mode NO_BACKSLASH_ESCAPES (set per session here, not to disturb the shared
      // server): mysql2 escapes a quote as \', which then ends the literal, and MariaDB's syntax error
      // quotes the rest of the statement, password included.
      const connect = mysql.createConnection;
      mysql.createConnection = (async (options: mysql.ConnectionOptions) => {
        const connection = await connect(options);
        await connection.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
        return connection;
      }) as typeof mysql.createConnection;
      const error = await fixture.stepError(arn, token, 'setSecret').finally(() => (mysql.createConnection = connect));
      expect(error).toMatchObject({ name: 'RotationError', code: 'DATABASE_ERROR' });
      const cause = error!.cause as Error;
      expect(cause).toMatchObject({ code: 'ER_PARSE_ERROR', message: expect.stringMatching(/syntax/) });
      const texts = { inspect: inspect(error, { depth: 5 }), json: JSON.stringify(error), stack: String(error!.stack), cause: cause.message, logs: fixture.logs.join('\n') };
      expectNoCanary(texts, password, head, tail);
      expect(cause).toMatchObject({ errno: 1064, sqlState: '42000' });
      expect(await target.login(initial)).toBe('ok');
    });
  }

  it('refuses a secret whose rotation is off, a token that is no version, a version that is not AWSPENDING; an AWSCURRENT one is done', async () => {
    const { fixture } = get();
    const rotateSingle = fixture.handler('single-user');
    const { arn } = await fixture.userSecret('single-user');
    const event = (ClientRequestToken: string, Step: RotationEvent['Step'] = 'createSecret') => ({ SecretId: arn, ClientRequestToken, Step });
    await expect(rotateSingle(event(randomUUID()))).rejects.toMatchObject({ name: 'RotationError', code: 'ROTATION_NOT_ENABLED', secretArn: arn });
    fixture.emulator.setRotationHandler(rotateSingle);
    const first = await fixture.rotate(arn);
    await expect(rotateSingle(event(randomUUID()))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    await fixture.rotate(arn);
    await expect(rotateSingle(event(first, 'setSecret'))).rejects.toMatchObject({ code: 'VERSION_NOT_PENDING' });
    const stages = await fixture.stages(arn);
    const current = Object.keys(stages).find((id) => stages[id]!.includes('AWSCURRENT'))!;
    for (const step of STEPS) await rotateSingle(event(current, step));
    expect(await fixture.stages(arn)).toEqual(stages);
  });
}

/** A handler that throws once, right after `step` did its work, as a Lambda that dies there. */
function stopOnceAfter(handler: RotationHandler, step: RotationEvent['Step']): RotationHandler {
  let stopped = false;
  return async (event) => {
    await handler(event);
    if (event.Step === step && !stopped) {
      stopped = true;
      throw new Error(`stopped after ${step}`);
    }
  };
}

/** Each step repeated, and rotations stopped after each step and started again, with both strategies. */
export function crashScenarios(makeTarget: () => Promise<DatabaseTarget>): void {
  const get = useFixture(makeTarget);

  for (const strategy of STRATEGIES) {
    it(`${strategy}: each step run twice leaves what it left once`, async () => {
      const { target, fixture } = get();
      const { arn } = await fixture.userSecret(strategy);
      const before = await fixture.value(arn, 'AWSCURRENT');
      // RotateSecret only puts AWSPENDING on the token's version; the test runs the steps.
      fixture.emulator.setRotationHandler(async () => {
        throw new Error('the test runs the steps');
      });
      const token = await fixture.rotate(arn);
      const rotate = fixture.handler(strategy);
      const snapshot = async () => {
        const value = await fixture.client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token })).catch(() => undefined);
        const pending = value?.SecretString === undefined ? undefined : (JSON.parse(value.SecretString) as DatabaseSecret);
        return { stages: await fixture.stages(arn), pending, login: pending && (await target.login(pending)) };
      };
      for (const Step of STEPS) {
        await rotate({ SecretId: arn, ClientRequestToken: token, Step });
        const once = await snapshot();
        await rotate({ SecretId: arn, ClientRequestToken: token, Step });
        expect(await snapshot()).toEqual(once);
      }
      const current = await fixture.value(arn, 'AWSCURRENT');
      expect((await fixture.stages(arn))[token]).toContain('AWSCURRENT');
      expect(current.password).not.toBe(before.password);
      expect(await target.login(current)).toBe('ok');
    });

    it(`${strategy}: a rotation stopped after any step completes when started again with the same token`, async () => {
      const { target, fixture } = get();
      const { arn } = await fixture.userSecret(strategy);
      for (const step of STEPS) {
        const before = await fixture.value(arn, 'AWSCURRENT');
        fixture.emulator.setRotationHandler(stopOnceAfter(fixture.handler(strategy), step));
        const token = await fixture.rotate(arn);
        if (step !== 'finishSecret') {
          expect((await fixture.stages(arn))[token]).toEqual(['AWSPENDING']);
          expect(await fixture.value(arn, 'AWSCURRENT')).toEqual(before);
        }
        await fixture.rotate(arn, token);
        expect((await fixture.stages(arn))[token]).toContain('AWSCURRENT');
        const current = await fixture.value(arn, 'AWSCURRENT');
        expect(current.password).not.toBe(before.password);
        expect(await target.login(current)).toBe('ok');
        expect(await target.login(before)).toBe(strategy === 'single-user' ? 'refused' : 'ok');
      }
    });
  }
}
