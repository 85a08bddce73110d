// The key ring the API key benches verify against, made one way for all of them.
import { createApiKey, emptyKeyRing, rotateApiKey, type KeyRing } from '@keyward/core';

/** Clients in the ring, one current key each. */
export const RING_KEYS = 1000;
/** Every ROTATE_EVERY-th client is rotated once, so its first key is `previous` (in its grace). */
export const ROTATE_EVERY = 100;

/**
 * A ring of RING_KEYS clients (`client-0000`...) with `scope`, every ROTATE_EVERY-th rotated with a
 * 24 h grace, and a current key from the middle of the ring (never rotated) to present.
 *
 * @example const { ring, validKey } = benchKeyRing(pepper, 'reports:read');
 */
export function benchKeyRing(pepper: Buffer, scope: string): { ring: KeyRing; validKey: string } {
  let ring = emptyKeyRing();
  const keys: string[] = [];
  for (let i = 0; i < RING_KEYS; i++) {
    const created = createApiKey(ring, { client: `client-${String(i).padStart(4, '0')}`, env: 'live', scopes: [scope], pepper });
    ring = created.ring;
    keys.push(created.key);
  }
  for (let i = 0; i < RING_KEYS; i += ROTATE_EVERY) {
    const rotated = rotateApiKey(ring, { client: `client-${String(i).padStart(4, '0')}`, grace: '24h', env: 'live', pepper });
    ring = rotated.ring;
    keys[i] = rotated.key;
  }
  return { ring, validKey: keys[RING_KEYS / 2 + 1]! };
}
