/** Helpers for this folder's specs (not exported from the package). */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerEmulator } from './secrets-manager-emulator.js';

/** A real SDK client for the emulator; `maxAttempts: 1` so an error is seen as the emulator sent it. */
export function clientFor(emulator: SecretsManagerEmulator, maxAttempts = 1): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, maxAttempts });
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

let counter = 0;
/** A secret name unique within the test run. */
export const uniqueName = (prefix = 'app'): string => `${prefix}/secret-${++counter}`;

/** A ClientRequestToken of the length the API requires (32-64 characters). */
export const token = (n: number): string => `token-${String(n).padStart(32, '0')}`;
