import { KeywardError, isKeywardError } from '../errors/index.js';
import type { Duration } from '../util/index.js';
import type { IssuedApiKey } from './api-key-format.js';
import { readPepper, type Pepper } from './api-key-hash.js';
import { issued } from './issued-key.js';
import type { KeyRing, KeyRingEntry } from './key-ring.js';
import type { KeyRingBackend, KeyRingChangeNotice } from './key-ring-backend.js';
import { createApiKey, pruneKeyRing, revokeApiKey, rotateApiKey } from './key-rotation.js';

/**
 * Where `keyRingAdmin()` keeps the ring, the pepper to hash new keys with, and who to notify after a write.
 */
export interface KeyRingAdminOptions {
  backend: KeyRingBackend;
  /** The pepper the apps verify with (needed to hash new keys); a value or a function that reads it. */
  pepper: Pepper | (() => Pepper | Promise<Pepper>);
  /** The `<env>` part of new keys, e.g. `live` or `test`. */
  env: string;
  /** Called after each successful write so other instances refresh at once (e.g. Redis pub/sub). A failure here does not undo the write. */
  publish?: (notice: KeyRingChangeNotice) => Promise<void> | void;
  /** Read-modify-write attempts when another writer got there first. Default 5. */
  attempts?: number;
  now?: () => number;
}

/** The outcome of a write: the revision that holds it and whether other instances were told at once. */
export interface KeyRingWrite {
  readonly revision: string;
  readonly notice: KeyRingChangeNotice;
  /** `false` when `publish` failed or is not configured: instances see the change at their next poll. */
  readonly published: boolean;
  /** Why publishing failed (an error code or name, never a value). */
  readonly publishError?: string;
}

/** A write that issued a key, with its ring entry. `key` is non-enumerable: print it once, never log the object's key. */
export type IssuedKeyRingWrite = KeyRingWrite & IssuedApiKey & { readonly entry: KeyRingEntry };

/**
 * The operator's view of a stored key ring: list, create, rotate, revoke and prune, each one safe write.
 *
 * @example
 * const { key } = await admin.rotate({ client: 'partner', grace: '24h' }); // hand `key` to the client once
 */
export interface KeyRingAdmin {
  /** The stored ring (entries hold hashes, never keys). */
  list(): Promise<{ revision: string | undefined; keys: readonly KeyRingEntry[] }>;
  create(options: { client: string; scopes: readonly string[]; label?: string }): Promise<IssuedKeyRingWrite>;
  /** `previous` is the client's key this rotation demoted, as written (with its `expiresAt`). */
  rotate(options: { client: string; grace: Duration; scopes?: readonly string[]; label?: string; retention?: Duration }): Promise<IssuedKeyRingWrite & { readonly previous: KeyRingEntry }>;
  revoke(keyId: string): Promise<KeyRingWrite & { readonly entry: KeyRingEntry }>;
  /** `pruned`: the keyIds this write dropped. */
  prune(options: { retention: Duration }): Promise<KeyRingWrite & { readonly pruned: readonly string[] }>;
}

/**
 * Operators' side of the key ring: each change is a read-modify-write with check-and-set on the
 * backend, re-applied on a fresh read when another writer got there first, so two rotations at
 * once both land. After a write, `publish` tells running instances (see `@keyward/redis`).
 *
 * @example
 * const admin = keyRingAdmin({ backend: vaultKeyRing(vault, 'secret', 'billing/live/api-keys'), pepper, env: 'live' });
 * const issued = await admin.rotate({ client: 'partner-a', grace: '24h' });
 * console.log(issued.key); // shown once
 */
export function keyRingAdmin(options: KeyRingAdminOptions): KeyRingAdmin {
  const attempts = options.attempts ?? 5;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(attempts) || attempts < 1) throw new KeywardError('CONFIG_INVALID', 'keyRingAdmin attempts must be a positive integer');

  const pepper = (): Promise<Pepper> => readPepper(options.pepper);

  /** Re-reads and re-applies `change` until its write lands or attempts run out. */
  async function update<T extends { ring: KeyRing }>(
    action: KeyRingChangeNotice['action'],
    change: (ring: KeyRing, at: number) => T | Promise<T>,
    describe: (result: T) => { keyId?: string; client?: string },
  ): Promise<{ result: T; write: KeyRingWrite }> {
    for (let attempt = 1; ; attempt += 1) {
      const stored = await options.backend.read();
      const at = now();
      const result = await change(stored.ring, at);
      try {
        // Nothing changed (a second revoke): no new version, but tell the instances again.
        const unchanged = result.ring === stored.ring && stored.revision !== undefined;
        const revision = unchanged ? stored.revision! : await options.backend.write(result.ring, stored.revision);
        const notice: KeyRingChangeNotice = { action, revision, ...describe(result), at: new Date(at).toISOString() };
        return { result, write: await announce(notice) };
      } catch (err) {
        if (!isKeywardError(err, 'KEY_RING_CONFLICT')) throw err;
        if (attempt >= attempts) {
          throw new KeywardError('KEY_RING_CONFLICT', `the key ring at ${options.backend.location} kept changing; gave up after ${attempts} attempts`, { cause: err });
        }
      }
    }
  }

  async function announce(notice: KeyRingChangeNotice): Promise<KeyRingWrite> {
    if (options.publish === undefined) return { revision: notice.revision, notice, published: false };
    try {
      await options.publish(notice);
      return { revision: notice.revision, notice, published: true };
    } catch (err) {
      const publishError = isKeywardError(err) ? err.code : err instanceof Error ? err.name : 'Error';
      return { revision: notice.revision, notice, published: false, publishError };
    }
  }

  /** The write plus the new key (non-enumerable) and the entries the caller asked for, as written. */
  function withKey<T extends object>(write: KeyRingWrite, change: IssuedApiKey & { ring: KeyRing }, extra: T = {} as T): IssuedKeyRingWrite & T {
    const entry = change.ring.keys.find((e) => e.keyId === change.keyId)!;
    return issued(change.key, change.keyId, { ...write, keyId: change.keyId, entry, ...extra });
  }

  return {
    async list() {
      const { ring, revision } = await options.backend.read();
      return { revision, keys: ring.keys };
    },
    async create({ client, scopes, label }) {
      const secret = await pepper();
      const { result, write } = await update(
        'create',
        (ring, at) => createApiKey(ring, { client, scopes, env: options.env, pepper: secret, now: at, ...(label === undefined ? {} : { label }) }),
        (change) => ({ keyId: change.keyId, client }),
      );
      return withKey(write, result);
    },
    async rotate({ client, grace, scopes, label, retention }) {
      const secret = await pepper();
      let demoted: string | undefined;
      const { result, write } = await update(
        'rotate',
        (ring, at) => {
          demoted = ring.keys.find((e) => e.client === client && e.status === 'current')?.keyId;
          return rotateApiKey(ring, {
            client,
            grace,
            env: options.env,
            pepper: secret,
            now: at,
            ...(scopes === undefined ? {} : { scopes }),
            ...(label === undefined ? {} : { label }),
            ...(retention === undefined ? {} : { retention }),
          });
        },
        (change) => ({ keyId: change.keyId, client }),
      );
      // rotateApiKey refused a client without a current key, so the demoted key is in the written ring.
      return withKey(write, result, { previous: result.ring.keys.find((e) => e.keyId === demoted)! });
    },
    async revoke(keyId) {
      const { result, write } = await update(
        'revoke',
        (ring, at) => {
          const next = revokeApiKey(ring, keyId, { now: at });
          return { ring: next, entry: next.keys.find((e) => e.keyId === keyId)! };
        },
        ({ entry }) => ({ keyId, client: entry.client }),
      );
      return { ...write, entry: result.entry };
    },
    async prune({ retention }) {
      const { result, write } = await update(
        'prune',
        (ring, at) => {
          const next = pruneKeyRing(ring, { retention, now: at });
          const kept = new Set(next.keys.map((e) => e.keyId));
          return { ring: next, pruned: ring.keys.filter((e) => !kept.has(e.keyId)).map((e) => e.keyId) };
        },
        () => ({}),
      );
      return { ...write, pruned: result.pruned };
    },
  };
}
