import { randomBytes } from 'node:crypto';
import type { SecretProvider } from '@keyward/core';
import { KeywardError } from '@keyward/core';

/** A value that must never be seen outside `reveal()`: tests plant it and scan output for it. */
export function canary(label = 'canary'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** An in-memory provider whose values and availability a test controls. */
export function memoryProvider(values: Record<string, unknown>): SecretProvider & { values: Record<string, unknown>; down: boolean } {
  const provider = {
    kind: 'memory',
    values,
    down: false,
    locate: (ref: { name: string }) => `memory:${ref.name}`,
    async read(ref: { name: string }) {
      if (provider.down) throw new KeywardError('PROVIDER_UNAVAILABLE', 'memory provider is down');
      if (!(ref.name in provider.values)) throw new KeywardError('SECRET_NOT_FOUND', 'not in memory');
      return { value: provider.values[ref.name] };
    },
  };
  return provider;
}

/** Polls `check` until it returns true, up to `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
