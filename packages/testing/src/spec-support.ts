/** Helpers shared by the emulators' specs (not exported from the package). */
import { afterAll, beforeAll } from '@jest/globals';

/** Starts one emulator and one SDK client on it for the spec file (both closed after it); hands them to `use`. */
export function useStarted<E extends { close(): Promise<void> }, C extends { destroy(): void }>(
  start: () => Promise<E>,
  clientFor: (emulator: E) => C,
  use: (emulator: E, client: C) => void,
): void {
  let emulator: E | undefined;
  let client: C | undefined;
  beforeAll(async () => {
    emulator = await start();
    client = clientFor(emulator);
    use(emulator, client);
  });
  afterAll(async () => {
    client?.destroy();
    await emulator?.close();
  });
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
