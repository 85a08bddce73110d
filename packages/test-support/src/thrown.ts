import { KeywardError } from '@keyward/core';

/** The KeywardError that `run` throws; fails the test when it throws nothing or something else. */
export function thrown(run: () => unknown): KeywardError {
  try {
    run();
  } catch (err) {
    if (err instanceof KeywardError) return err;
    throw err;
  }
  throw new Error('expected a KeywardError to be thrown');
}

/** The KeywardError `promise` rejects with; fails the test when it resolves or rejects with something else. */
export async function rejected(promise: Promise<unknown>): Promise<KeywardError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KeywardError) return err;
    throw err;
  }
  throw new Error('expected a KeywardError rejection');
}
