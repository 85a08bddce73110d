import type { CredentialSource, Secret } from '@keyward/core';
import type { Connection } from 'mysql2/promise';

/**
 * The MySQL thread ids of the open connections of each credentials version, so that `stats()`
 * can say which sessions in `information_schema.PROCESSLIST` each generation owns.
 *
 * The pool hands the driver `secret.reveal()`, which is the same object for the life of a
 * `Secret`: noting each secret's value as it is handed out tells the driver its version.
 */
export class ConnectionsByVersion {
  readonly #versionOf = new WeakMap<object, string>();
  readonly #opened = new WeakMap<Connection, { version: string; threadId: number }>();
  readonly #open = new Map<string, Set<number>>();

  /** `source`, noting the version of every credentials it hands out. */
  watch<K>(source: CredentialSource<K>): CredentialSource<K> {
    const note = (secret: Secret<unknown>) => {
      const value = secret.reveal();
      if (typeof value === 'object' && value !== null) this.#versionOf.set(value, secret.version);
    };
    return {
      current: () => {
        const secret = source.current();
        note(secret);
        return secret;
      },
      onRotated: (listener) =>
        source.onRotated((event) => {
          note(event.current);
          listener(event);
        }),
      refresh: () => source.refresh(),
    };
  }

  opened(credentials: unknown, connection: Connection): void {
    const version = (typeof credentials === 'object' && credentials !== null && this.#versionOf.get(credentials)) || 'unknown';
    const threadId = connection.threadId;
    this.#opened.set(connection, { version, threadId });
    let ids = this.#open.get(version);
    if (ids === undefined) this.#open.set(version, (ids = new Set()));
    ids.add(threadId);
  }

  closed(connection: Connection): void {
    const opened = this.#opened.get(connection);
    if (opened === undefined) return;
    this.#opened.delete(connection);
    const ids = this.#open.get(opened.version);
    ids?.delete(opened.threadId);
    if (ids?.size === 0) this.#open.delete(opened.version);
  }

  threadIds(version: string): number[] {
    return [...(this.#open.get(version) ?? [])];
  }
}
