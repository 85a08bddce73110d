import { KeywardError, type ReadResult, type SecretLease, type SecretProvider, type SecretRef } from '@keyward/core';

export interface MemoryProvider extends SecretProvider {
  /** Values by declared name; a missing name reads as SECRET_NOT_FOUND. */
  values: Record<string, unknown>;
  /** Versions by declared name, when the backend "has" them. */
  versions: Record<string, string>;
  /** Leases by declared name. */
  leases: Record<string, SecretLease>;
  /** While set, every read fails with PROVIDER_UNAVAILABLE. */
  down: boolean;
  /** Every read, in order. */
  reads: { name: string; path: string; at: number; current: { version: string } | undefined }[];
  starts: number;
  closes: number;
}

/** An in-memory provider whose values and availability a test controls. */
export function memoryProvider(values: Record<string, unknown> = {}, kind = 'memory'): MemoryProvider {
  const provider: MemoryProvider = {
    kind,
    values,
    versions: {},
    leases: {},
    down: false,
    reads: [],
    starts: 0,
    closes: 0,
    locate: (ref: SecretRef) => `${kind}:${ref.path}`,
    start() {
      provider.starts++;
    },
    async read(ref, context): Promise<ReadResult> {
      provider.reads.push({ name: ref.name, path: ref.path, at: Date.now(), current: context.current });
      if (provider.down) throw new KeywardError('PROVIDER_UNAVAILABLE', `${kind} provider is down`);
      if (!Object.hasOwn(provider.values, ref.name)) throw new KeywardError('SECRET_NOT_FOUND', `nothing at ${ref.path}`);
      return { value: provider.values[ref.name], version: provider.versions[ref.name], lease: provider.leases[ref.name] };
    },
    async close() {
      provider.closes++;
    },
  };
  return provider;
}
