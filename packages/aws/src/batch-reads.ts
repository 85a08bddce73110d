import {
  BatchGetSecretValueCommand,
  type SecretsManagerClient,
  type SecretValueEntry,
} from '@aws-sdk/client-secrets-manager';
import { batchEntryError, sanitizeFailure, secretsManagerError } from './secrets-manager-errors.js';

/** BatchGetSecretValue takes at most 20 ids in `SecretIdList`. */
export const BATCH_SIZE = 20;

/** Batch denied or not offered: every secret is read on its own from then on. */
const UNSUPPORTED = new Set(['AccessDeniedException', 'UnknownOperationException', 'InvalidAction', 'NotImplemented']);

type ReadOne = (secretId: string, signal: AbortSignal) => Promise<SecretValueEntry>;

interface Waiter {
  readonly signal: AbortSignal;
  resolve(entry: SecretValueEntry): void;
  reject(err: unknown): void;
}

/**
 * Coalesces the reads of the AWSCURRENT version that arrive in the same turn of the event loop (the
 * store's bootstrap) into one `BatchGetSecretValue` per 20 ids. Each caller gets its own secret or
 * its own `Errors` entry; an id the answer does not mention is read on its own. When the batch call
 * itself is denied or unknown, batching stops for good and every read goes through `readOne`.
 */
export class BatchReads {
  readonly #client: SecretsManagerClient;
  readonly #readOne: ReadOne;
  #waiting = new Map<string, Waiter[]>();
  #supported = true;

  constructor(client: SecretsManagerClient, readOne: ReadOne) {
    this.#client = client;
    this.#readOne = readOne;
  }

  read(secretId: string, signal: AbortSignal): Promise<SecretValueEntry> {
    if (!this.#supported) return this.#readOne(secretId, signal);
    return new Promise((resolve, reject) => {
      // setImmediate, not a microtask: the store's readers start over several microtask hops.
      if (this.#waiting.size === 0) setImmediate(() => this.#flush());
      const waiters = this.#waiting.get(secretId) ?? [];
      waiters.push({ signal, resolve, reject });
      this.#waiting.set(secretId, waiters);
    });
  }

  #flush(): void {
    const ids = [...this.#waiting.entries()];
    this.#waiting = new Map();
    for (let i = 0; i < ids.length; i += BATCH_SIZE) void this.#send(new Map(ids.slice(i, i + BATCH_SIZE)));
  }

  async #send(batch: Map<string, Waiter[]>): Promise<void> {
    const { signal, release } = abortedWhenAll([...batch.values()].flat().map((w) => w.signal));
    try {
      await this.#answer(batch, signal);
    } finally {
      release();
    }
  }

  async #answer(batch: Map<string, Waiter[]>, signal: AbortSignal): Promise<void> {
    const found = new Map<string, SecretValueEntry>();
    const failed = new Map<string, { ErrorCode?: string | undefined; Message?: string | undefined }>();
    try {
      let nextToken: string | undefined;
      do {
        const answer = await this.#client.send(
          new BatchGetSecretValueCommand({ SecretIdList: [...batch.keys()], ...(nextToken ? { NextToken: nextToken } : {}) }),
          { abortSignal: signal },
        );
        for (const entry of answer.SecretValues ?? []) {
          for (const key of [entry.Name, entry.ARN]) if (key !== undefined) found.set(key, entry);
        }
        for (const error of answer.Errors ?? []) if (error.SecretId !== undefined) failed.set(error.SecretId, error);
        nextToken = answer.NextToken;
      } while (nextToken);
    } catch (err) {
      if (UNSUPPORTED.has(sanitizeFailure(err, 'BatchGetSecretValue').errorName) && !signal.aborted) {
        this.#supported = false;
        for (const [id, waiters] of batch) this.#readAlone(id, waiters);
        return;
      }
      const error = secretsManagerError(err, 'BatchGetSecretValue', signal);
      for (const waiter of [...batch.values()].flat()) waiter.reject(error);
      return;
    }
    for (const [id, waiters] of batch) {
      const entry = found.get(id);
      const error = failed.get(id);
      if (entry !== undefined) for (const w of waiters) w.resolve(entry);
      else if (error !== undefined) for (const w of waiters) w.reject(batchEntryError(error.ErrorCode, error.Message));
      else this.#readAlone(id, waiters);
    }
  }

  #readAlone(id: string, waiters: Waiter[]): void {
    for (const w of waiters) this.#readOne(id, w.signal).then(w.resolve, w.reject);
  }
}

/** A signal that aborts once every caller's signal has: one caller giving up must not fail the others. */
function abortedWhenAll(signals: AbortSignal[]): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  let live = signals.length;
  const onAbort = () => {
    if (--live === 0) controller.abort(signals[0]?.reason);
  };
  for (const s of signals) {
    if (s.aborted) onAbort();
    else s.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, release: () => signals.forEach((s) => s.removeEventListener('abort', onAbort)) };
}
