import { afterEach } from '@jest/globals';

/** Returns `track(store)`: every store tracked in a test is closed after it. */
export function closeAfterEach(): <S extends { close(): Promise<void> }>(store: S) => S {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return (store) => {
    open.push(store);
    return store;
  };
}
