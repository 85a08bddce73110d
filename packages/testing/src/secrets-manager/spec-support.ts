/** Helpers for this folder's specs (not exported from the package). */
import { afterAll, beforeAll } from '@jest/globals';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager-emulator.js';

/** Starts one emulator and one client for the spec file (closed after it); hands them to `use`. */
export function useEmulator(use: (emulator: SecretsManagerEmulator, client: SecretsManagerClient) => void): void {
  let emulator: SecretsManagerEmulator | undefined;
  let client: SecretsManagerClient | undefined;
  beforeAll(async () => {
    emulator = await startSecretsManagerEmulator();
    client = clientFor(emulator);
    use(emulator, client);
  });
  afterAll(async () => {
    client?.destroy();
    await emulator?.close();
  });
}

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
