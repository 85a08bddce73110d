import type { RequestBody } from './request-fields.js';
import type { SecretStore } from './secret-store.js';

/** The event the emulator passes to the rotation function, as AWS passes it to the rotation Lambda. */
export interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
}

/**
 * A rotation function the emulator awaits for each of the four steps, as AWS would invoke a rotation Lambda.
 */
export type RotationHandler = (event: RotationEvent) => Promise<void>;

/** What every operation sees: the account's secrets and the registered rotation function. */
export interface EmulatorContext {
  readonly store: SecretStore;
  rotationHandler?: RotationHandler;
}

/** One API action: request body in, response body out (or a thrown SecretsManagerError). */
export type Operation = (context: EmulatorContext, body: RequestBody) => Promise<Record<string, unknown>> | Record<string, unknown>;
