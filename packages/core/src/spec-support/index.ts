// Helpers for the core package's own specs; not part of the published package (see tsconfig.json).
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { afterEach } from '@jest/globals';
import { KeywardError } from '../errors/index.js';
import type { ReadResult, SecretProvider, SecretRef } from '../providers/index.js';
import type { SecretLease } from '../secret/index.js';

/** A value that must never be seen outside `reveal()`: tests plant it and scan output for it. */
export function canary(label = 'canary'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** Asserts that none of `canaries` occurs in any of `texts`; names the text that leaked. */
export function expectNoCanary(texts: Readonly<Record<string, string>>, ...canaries: string[]): void {
  const leaks = Object.entries(texts).flatMap(([where, text]) =>
    canaries.filter((c) => text.includes(c)).map((c) => `${where} contains ${c}`),
  );
  if (leaks.length > 0) throw new Error(`secret value leaked:\n${leaks.join('\n')}`);
}

/** The KeywardError that `run` throws; fails the test when it throws nothing or something else. */
export function thrown(run: () => unknown): KeywardError {
  try {
    run();
  } catch (err) {
    if (err instanceof KeywardError) return err;
    throw err;
  }
  throw new Error('expected a KeywardError to be thrown');
}

/** Returns `track(store)`: every store tracked in a test is closed after it. */
export function closeAfterEach(): <S extends { close(): Promise<void> }>(store: S) => S {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return (store) => {
    open.push(store);
    return store;
  };
}

/** Polls `check` every 5 ms until it is true, up to `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The next `event` (that passes `filter`) from `emitter`, or a rejection after `timeoutMs`. */
export function nextEvent<T>(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 2000,
  filter: (payload: T) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEvent = (payload: T) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

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
