import type { KeyRing } from './key-ring.js';

/** A ring as read from its backend, with the revision a check-and-set write must name. */
export interface StoredKeyRing {
  readonly ring: KeyRing;
  /** Opaque backend version (Vault KV version, AWS VersionId, file digest); `undefined` when no ring is stored yet. */
  readonly revision: string | undefined;
}

/**
 * Where a key ring document lives, with check-and-set writes. Implemented by `fileKeyRing()`
 * (core), `vaultKeyRing()` (@keyward/vault) and `secretsManagerKeyRing()` (@keyward/aws).
 * The app reads the same document as a declared secret; only operators' tools write it.
 *
 * @example
 * const { ring, revision } = await backend.read();
 * await backend.write(revokeApiKey(ring, keyId), revision); // KEY_RING_CONFLICT if it moved meanwhile
 */
export interface KeyRingBackend {
  /** Where the ring is, for messages (a path or name, never a value). */
  readonly location: string;
  read(): Promise<StoredKeyRing>;
  /**
   * Stores `ring` only if the stored revision is still `expected` (`undefined`: only if none is
   * stored). Resolves to the new revision; rejects with `KEY_RING_CONFLICT` when another writer
   * got there first, and with `PROVIDER_*`/`PERMISSION_DENIED` codes for backend failures.
   */
  write(ring: KeyRing, expected: string | undefined): Promise<string>;
  /** Releases what the backend opened itself (a connection made from options). */
  close?(): Promise<void>;
}

/** What changed in a ring, as published to other instances (no key, no hash). */
export interface KeyRingChangeNotice {
  readonly action: 'create' | 'rotate' | 'revoke' | 'prune';
  /** The backend revision that holds the change. */
  readonly revision: string;
  /** The key concerned: the new key for create/rotate, the ended one for revoke. Absent for prune. */
  readonly keyId?: string;
  readonly client?: string;
  /** ISO 8601. */
  readonly at: string;
}
