import { KeywardError } from '../errors/index.js';
import type { Secret } from '../secret/index.js';
import type { SecretRotatedEvent } from '../store/store-events.js';
import type { SecretStore } from '../store/secret-store.js';

/** Where a pool gets its credentials and hears of their rotation. */
export interface CredentialSource<K> {
  /** The credentials to open connections with now. */
  current(): Secret<K>;
  /** Calls `listener` on each rotation; returns a function that stops listening. */
  onRotated(listener: (event: SecretRotatedEvent) => void): () => void;
  /** Reads the credentials again now (after an authentication failure). */
  refresh(): Promise<void>;
}

/**
 * The credentials a store holds under `name`.
 *
 * @example new CredentialPool(storeCredentials(store, 'database'), pgDriver, { max: 20 })
 */
export function storeCredentials<K>(store: SecretStore, name: string): CredentialSource<K> {
  return {
    current: () => {
      const secret = store.get(name);
      if (secret === undefined) throw new KeywardError('SECRET_NOT_LOADED', 'has no value (an optional secret cannot serve a pool)', { secret: name });
      return secret as Secret<K>;
    },
    onRotated(listener) {
      const onRotated = (event: SecretRotatedEvent) => {
        if (event.name === name) listener(event);
      };
      store.on('rotated', onRotated);
      return () => store.off('rotated', onRotated);
    },
    refresh: () => store.refresh(name),
  };
}
