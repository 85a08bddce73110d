/** Helpers for this folder's specs (not exported from the package). */
import { useStarted } from '../spec-support.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager-emulator.js';

/** Starts one emulator and one client for the spec file (closed after it); hands them to `use`. */
export function useEmulator(use: (emulator: SecretsManagerEmulator, client: SecretsManagerClient) => void): void {
  useStarted(() => startSecretsManagerEmulator(), (emulator) => clientFor(emulator), use);
}

/** A real SDK client for the emulator; `maxAttempts: 1` so an error is seen as the emulator sent it. */
export function clientFor(emulator: SecretsManagerEmulator, maxAttempts = 1): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials, maxAttempts });
}

export { rejection } from '../spec-support.js';

let counter = 0;
/** A secret name unique within the test run. */
export const uniqueName = (prefix = 'app'): string => `${prefix}/secret-${++counter}`;

/** A ClientRequestToken of the length the API requires (32-64 characters). */
export const token = (n: number): string => `token-${String(n).padStart(32, '0')}`;
