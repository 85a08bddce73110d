import { KMSClient } from '@aws-sdk/client-kms';
import { awsKmsKek } from '@keyward/aws';
import { localKek, type KekProvider, type LocalKeySet, type SecretStore } from '@keyward/core';
import { vaultTransitKek } from '@keyward/vault';
import { demoBackend, demoVaultConnection } from './secrets.js';

/** The transit key (Vault) and the KMS alias (AWS) the demos wrap their data keys with. */
export const DEMO_ENVELOPE_KEY = 'demo-envelopes';

/**
 * The demos' key-encryption key, by backend, as `demoStoreOptions` picks it: a Vault transit key
 * (`demo-envelopes`, derived) over the app's own AppRole login; the KMS key `alias/demo-envelopes`
 * (`KEYWARD_AWS_KMS_ENDPOINT` for the emulator); or, on `.env`, a local key set in the declared
 * secret `envelopeKek` (`ENVELOPE_KEK__1=<base64 32 bytes>`; add `ENVELOPE_KEK__2` to rotate).
 * Its `close()` releases the connection or client it opened.
 *
 * @example
 * const envelope = createEnvelope({ kek: demoKek(store) });
 */
export function demoKek(store: SecretStore, env: NodeJS.ProcessEnv = process.env): KekProvider {
  const backend = demoBackend(env);
  if (backend === 'dotenv') return localKek({ keyId: 'envelopeKek', keys: () => store.get('envelopeKek').reveal() as LocalKeySet });
  if (backend === 'aws') {
    const client = new KMSClient({ region: env['AWS_REGION'] ?? 'us-east-1', endpoint: env['KEYWARD_AWS_KMS_ENDPOINT'] || undefined });
    const kek = awsKmsKek({ client, keyId: `alias/${DEMO_ENVELOPE_KEY}` });
    return { ...kek, close: async () => client.destroy() };
  }
  return vaultTransitKek({ ...demoVaultConnection(env), key: DEMO_ENVELOPE_KEY });
}
