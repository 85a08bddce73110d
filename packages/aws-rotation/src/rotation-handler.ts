import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ConnectOptions, DatabaseEngine } from './database-engine.js';
import { mysqlEngine } from './mysql-engine.js';
import { postgresEngine } from './postgres-engine.js';
import { RotationError } from './rotation-error.js';
import { createSecret, finishSecret, setSecret, testSecret, type PasswordOptions, type RotationStrategy, type StepContext } from './rotation-steps.js';
import { AWSCURRENT, AWSPENDING, describeVersions } from './secret-versions.js';

/**
 * The event Secrets Manager invokes a rotation Lambda with.
 *
 * @example
 * await rotate({ SecretId: arn, ClientRequestToken: versionId, Step: 'testSecret' });
 */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret' | (string & {});
}

/**
 * What {@link createRotationHandler} rotates and how.
 *
 * @example
 * const options: RotationHandlerOptions = { engine: 'postgres', strategy: 'single-user', passwordOptions: { length: 40 } };
 */
export interface RotationHandlerOptions extends ConnectOptions {
  readonly engine: 'postgres' | 'mysql';
  /**
   * `single-user`: the user changes its own password (sessions with the old one fail at the next login).
   * `alternating-users`: an admin secret (the secret's `masterarn`) sets the password of `user` and
   * `user_clone` in turn, so the previous credentials keep working until the next rotation.
   */
  readonly strategy: RotationStrategy;
  /** Default: a client configured by the Lambda environment (region, credentials), made on first use. */
  readonly client?: SecretsManagerClient;
  readonly passwordOptions?: PasswordOptions;
  /** One line per step: step, secret ARN, version id and what was done; never a value. Default `console.log`. */
  readonly log?: (line: string) => void;
}

/**
 * The Lambda handler: resolves when the step is done (or was already done), rejects with a {@link RotationError}.
 *
 * @example
 * const rotate: RotationHandler = createRotationHandler({ engine: 'mysql', strategy: 'single-user' });
 */
export type RotationHandler = (event: RotationEvent) => Promise<void>;

const ENGINES: Readonly<Record<RotationHandlerOptions['engine'], DatabaseEngine>> = { postgres: postgresEngine, mysql: mysqlEngine };
const STEPS = { createSecret, setSecret, testSecret, finishSecret } as const;

/**
 * A Secrets Manager rotation Lambda handler following AWS's rotation contract: every step checks
 * that rotation is enabled and that the token is a version of the secret (already AWSCURRENT: done;
 * not AWSPENDING: error), and each step can be repeated for the same token.
 *
 * @example
 * // The Lambda's entry point
 * export const handler = createRotationHandler({ engine: 'postgres', strategy: 'alternating-users', ssl: true });
 */
export function createRotationHandler(options: RotationHandlerOptions): RotationHandler {
  const engine = ENGINES[options.engine];
  if (!engine) throw new TypeError(`unknown engine "${String(options.engine)}": use "postgres" or "mysql"`);
  let client = options.client;
  const write = options.log ?? ((line: string) => console.log(line));
  return async (event) => {
    const { SecretId: secretArn, ClientRequestToken: token, Step: step } = event;
    client ??= new SecretsManagerClient({});
    const log = (message: string) => write(JSON.stringify({ step, secretArn, versionId: token, message }));
    const ctx: StepContext = {
      client,
      engine,
      strategy: options.strategy,
      connect: { ssl: options.ssl, connectTimeoutMs: options.connectTimeoutMs },
      password: options.passwordOptions ?? {},
      secretArn,
      token,
      step,
      log,
    };
    const run = STEPS[step as keyof typeof STEPS];
    try {
      const versions = await describeVersions(client, secretArn);
      if (!versions.rotationEnabled) throw new RotationError('ROTATION_NOT_ENABLED', secretArn, step, token, 'rotation is not enabled');
      const stages = versions.stages[token];
      if (!stages) throw new RotationError('VERSION_NOT_FOUND', secretArn, step, token, 'the token is not a version of the secret');
      if (stages.includes(AWSCURRENT)) {
        log('the version is already AWSCURRENT');
        return;
      }
      if (!stages.includes(AWSPENDING)) throw new RotationError('VERSION_NOT_PENDING', secretArn, step, token, 'the version is not AWSPENDING');
      if (!run) throw new RotationError('UNKNOWN_STEP', secretArn, step, token, 'unknown step');
      await run(ctx);
    } catch (err) {
      if (err instanceof RotationError) throw err;
      throw new RotationError('SECRETS_MANAGER_ERROR', secretArn, step, token, `Secrets Manager answered ${(err as Error).name}`, err);
    }
  };
}
