import { GetRandomPasswordCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ConnectOptions, DatabaseEngine, DatabaseSession } from './database-engine.js';
import type { DatabaseSecret } from './database-secret.js';
import { RotationError, type RotationErrorCode } from './rotation-error.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, describeVersions, moveCurrent, putPending, readSecret, versionWithStage } from './secret-versions.js';

/**
 * Options of GetRandomPassword for each new password.
 *
 * @example
 * createRotationHandler({ engine: 'postgres', strategy: 'single-user', passwordOptions: { length: 40, excludeCharacters: ':/@"\'\\ ' } });
 */
export interface PasswordOptions {
  /** Default 32. */
  readonly length?: number;
  /** Default `/@"'\` and space: characters that break connection strings and shell quoting. */
  readonly excludeCharacters?: string;
}

/**
 * `single-user` changes the user's own password; `alternating-users` has the `masterarn` admin set
 * `user` and `user_clone` in turn.
 *
 * @example
 * const strategy: RotationStrategy = 'alternating-users';
 */
export type RotationStrategy = 'single-user' | 'alternating-users';

/** Everything one step of one rotation needs. */
export interface StepContext {
  readonly client: SecretsManagerClient;
  readonly engine: DatabaseEngine;
  readonly strategy: RotationStrategy;
  readonly connect: ConnectOptions;
  readonly password: PasswordOptions;
  readonly secretArn: string;
  readonly token: string;
  readonly step: string;
  log(message: string): void;
}

const CLONE_SUFFIX = '_clone';

/** Alternating users swap between `user` and `user_clone`. */
export const alternateUsername = (username: string): string =>
  username.endsWith(CLONE_SUFFIX) ? username.slice(0, -CLONE_SUFFIX.length) : username + CLONE_SUFFIX;

const fail = (ctx: StepContext, code: RotationErrorCode, detail: string, cause?: unknown): RotationError =>
  new RotationError(code, ctx.secretArn, ctx.step, ctx.token, detail, cause);

/** A stored database secret; a missing or malformed one is INVALID_SECRET (the value is never quoted). */
async function load(ctx: StepContext, secretId: string, stage: string, versionId?: string): Promise<DatabaseSecret> {
  let secret: DatabaseSecret | undefined;
  try {
    secret = await readSecret(ctx.client, secretId, stage, versionId);
  } catch (err) {
    throw err instanceof TypeError ? fail(ctx, 'INVALID_SECRET', `${stage} of ${secretId}: ${err.message}`) : err;
  }
  if (!secret) throw fail(ctx, 'INVALID_SECRET', `${secretId} has no ${stage} value${versionId ? ` for version ${versionId}` : ''}`);
  return secret;
}

/** A session as the first of `secrets` that logs in, or LOGIN_FAILED with the last refusal as cause. */
async function loginWithAny(ctx: StepContext, secrets: readonly DatabaseSecret[], what: string): Promise<DatabaseSession> {
  let lastError: unknown;
  for (const secret of secrets) {
    try {
      return await ctx.engine.login(secret, ctx.connect);
    } catch (err) {
      lastError = err;
    }
  }
  throw fail(ctx, 'LOGIN_FAILED', `cannot log in with ${what}`, lastError);
}

async function canLogin(ctx: StepContext, secret: DatabaseSecret): Promise<boolean> {
  const session = await ctx.engine.login(secret, ctx.connect).catch(() => undefined);
  await session?.end();
  return session !== undefined;
}

async function inSession(ctx: StepContext, session: DatabaseSession, work: (s: DatabaseSession) => Promise<void>): Promise<void> {
  try {
    await work(session);
  } catch (err) {
    throw fail(ctx, 'DATABASE_ERROR', 'the database refused the statement', err);
  }
  finally {
    await session.end();
  }
}

/** createSecret: a new password (and for alternating users the other username) under AWSPENDING, once per token. */
export async function createSecret(ctx: StepContext): Promise<void> {
  const current = await load(ctx, ctx.secretArn, AWSCURRENT);
  if (await readSecret(ctx.client, ctx.secretArn, AWSPENDING, ctx.token).catch(() => undefined)) {
    ctx.log('AWSPENDING already has a value for this version');
    return;
  }
  const { RandomPassword } = await ctx.client.send(
    new GetRandomPasswordCommand({ PasswordLength: ctx.password.length ?? 32, ExcludeCharacters: ctx.password.excludeCharacters ?? '/@"\'\\ ' }),
  );
  if (!RandomPassword) throw fail(ctx, 'INVALID_SECRET', 'GetRandomPassword answered without a password');
  const username = ctx.strategy === 'alternating-users' ? alternateUsername(current.username) : current.username;
  await putPending(ctx.client, ctx.secretArn, ctx.token, { ...current, username, password: RandomPassword });
  ctx.log('put a new value under AWSPENDING');
}

/** setSecret: makes the database accept AWSPENDING; nothing to do when it already does. */
export async function setSecret(ctx: StepContext): Promise<void> {
  const current = await load(ctx, ctx.secretArn, AWSCURRENT);
  const pending = await load(ctx, ctx.secretArn, AWSPENDING, ctx.token);
  if (await canLogin(ctx, pending)) {
    ctx.log('the database already accepts AWSPENDING');
    return;
  }
  const expected = ctx.strategy === 'alternating-users' ? alternateUsername(current.username) : current.username;
  if (pending.username !== expected) throw fail(ctx, 'USER_MISMATCH', `AWSPENDING's user is not the ${ctx.strategy} successor of AWSCURRENT's`);
  const problem = ctx.engine.passwordProblem?.(pending.password);
  if (problem) throw fail(ctx, 'INVALID_SECRET', `AWSPENDING cannot be set: ${problem}`);
  if (ctx.strategy === 'single-user') {
    // AWSPREVIOUS too: an earlier rotation may have changed the password and stopped before finishSecret.
    const previous = await readSecret(ctx.client, ctx.secretArn, AWSPREVIOUS).catch(() => undefined);
    const logins = [current, ...(previous && previous.username === current.username ? [previous] : [])];
    const session = await loginWithAny(ctx, logins, 'AWSCURRENT or AWSPREVIOUS');
    await inSession(ctx, session, (s) => s.setOwnPassword(pending.password));
  } else {
    if (typeof current.masterarn !== 'string' || current.masterarn === '') throw fail(ctx, 'INVALID_SECRET', 'AWSCURRENT has no "masterarn"');
    const master = await load(ctx, current.masterarn, AWSCURRENT);
    const session = await loginWithAny(ctx, [{ ...master, dbname: current.dbname ?? master.dbname }], 'the master secret');
    const original = current.username.endsWith(CLONE_SUFFIX) ? pending.username : current.username;
    await inSession(ctx, session, (s) => s.setAlternateUser(original, pending.username, pending.password));
  }
  ctx.log('set AWSPENDING on the database');
}

/** testSecret: AWSPENDING logs in and runs `SELECT 1`. */
export async function testSecret(ctx: StepContext): Promise<void> {
  const pending = await load(ctx, ctx.secretArn, AWSPENDING, ctx.token);
  const session = await loginWithAny(ctx, [pending], 'AWSPENDING');
  await inSession(ctx, session, (s) => s.selectOne());
  ctx.log('AWSPENDING logs in');
}

/** finishSecret: moves AWSCURRENT to this version (AWSPREVIOUS follows the old one). */
export async function finishSecret(ctx: StepContext): Promise<void> {
  const current = versionWithStage(await describeVersions(ctx.client, ctx.secretArn), AWSCURRENT);
  if (current === ctx.token) return;
  await moveCurrent(ctx.client, ctx.secretArn, ctx.token, current);
  ctx.log(`moved AWSCURRENT from version ${current ?? 'none'}`);
}
