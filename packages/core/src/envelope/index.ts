export type { EncryptionContext, GeneratedDataKey, KekCallOptions, KekProvider, KekReference, WrappedDataKey } from './kek-provider.js';
export { ENVELOPE_PREFIX, parseEnvelope, type EnvelopeJson, type EnvelopeParts, type SealedEnvelope } from './envelope-format.js';
export type { DataKeyCacheOptions } from './data-key-cache.js';
export { canonicalContext } from './encryption-context.js';
export { localKek, type LocalKekOptions, type LocalKeySet } from './local-kek.js';
export { createEnvelope, type EncryptOptions, type Envelope, type EnvelopeCallOptions, type EnvelopeOptions } from './create-envelope.js';
export type { RewrapAllOptions, RewrapItem, RewrapProgress, RewrapSummary } from './rewrap-all.js';
