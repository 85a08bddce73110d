import { createEnvelope, localKek, SecretStore, type EnvelopeOptions, type KekProvider } from '@keyward/core';
import type { FactoryProvider } from '@nestjs/common';

/**
 * The injection token of the module's `Envelope`, provided when `KeywardModule.forRoot({ envelope })` is used.
 *
 * @example
 * constructor(@Inject(KEYWARD_ENVELOPE) private readonly envelope: Envelope) {}
 * // ...
 * const sealed = await this.envelope.encrypt(token, { context: { table: 'partners', id } });
 */
export const KEYWARD_ENVELOPE = 'KEYWARD_ENVELOPE';

/**
 * `envelope` of `KeywardModule.forRoot`: the envelope's options, with the KEK given as a
 * provider, as a function of the started store (for a KEK that needs a secret or a connection),
 * or as the name of a declared secret holding a local key set (`localKek`). A KEK the module
 * made (the function's) is closed when the app closes (`kek.close()`: a Vault connection it opened);
 * one given as an object is left to its creator.
 *
 * @example
 * { kek: { localKeySet: 'envelopeKek' }, dataKeys: { cache: { maxAge: '5m', maxMessages: 1000 } } }
 * { kek: () => awsKmsKek({ client: new KMSClient({}), keyId: 'alias/app' }) }
 */
export interface KeywardEnvelopeOptions extends Omit<EnvelopeOptions, 'kek'> {
  readonly kek: KekProvider | ((store: SecretStore) => KekProvider) | { readonly localKeySet: string };
}

/** The envelope, built once the store has started (a local key set is read from it on every call, so its rotation applies at once). */
export function envelopeProviders(options: KeywardEnvelopeOptions | undefined): FactoryProvider[] {
  if (options === undefined) return [];
  return [
    {
      provide: KEYWARD_ENVELOPE,
      inject: [SecretStore],
      useFactory: (store: SecretStore) => {
        const { kek, ...rest } = options;
        return createEnvelope({ ...rest, kek: kekOf(kek, store) });
      },
    },
  ];
}

/** KEKs the module made (from a function or a local key set), which it closes at shutdown; a KEK given as an object is its creator's. */
const madeByModule = new WeakSet<KekProvider>();

/** Closes what the envelope's KEK opened, when the module made that KEK. */
export async function closeModuleKek(kek: KekProvider): Promise<void> {
  if (madeByModule.has(kek)) await kek.close?.();
}

function kekOf(kek: KeywardEnvelopeOptions['kek'], store: SecretStore): KekProvider {
  if (typeof kek === 'function') {
    const made = kek(store);
    madeByModule.add(made);
    return made;
  }
  if ('localKeySet' in kek) {
    const name = kek.localKeySet;
    return localKek({ keyId: name, keys: () => store.get(name).reveal() as never });
  }
  return kek;
}
