import { KeywardError, type KeywardErrorCode } from '../errors/index.js';
import type { SealedEnvelope } from './envelope-format.js';
import type { EncryptionContext } from './kek-provider.js';

/** One stored envelope for `rewrapAll`: your row's id, the envelope and the context it was sealed with. */
export interface RewrapItem<Id> {
  readonly id: Id;
  readonly envelope: SealedEnvelope;
  readonly context?: EncryptionContext;
}

/** Where a `rewrapAll` run is. */
export interface RewrapProgress<Id> {
  /** Envelopes read from the source and finished (rewrapped, already current or failed). */
  readonly seen: number;
  /** Envelopes re-wrapped and saved. */
  readonly rewrapped: number;
  /** Envelopes already on the newest KEK version: not saved. */
  readonly alreadyCurrent: number;
  /** Envelopes that could not be re-wrapped (see `failures`); the run goes on past them. */
  readonly failed: number;
  /** The id of the last envelope such that it and every one before it in the source are finished: restart the source after it. */
  readonly resumeAfter: Id | undefined;
}

/** The end of a `rewrapAll` run: the progress, and which envelopes failed with which code. */
export interface RewrapSummary<Id> extends RewrapProgress<Id> {
  readonly failures: ReadonlyArray<{ readonly id: Id; readonly code: KeywardErrorCode }>;
}

/**
 * Options of `envelope.rewrapAll`.
 *
 * @example
 * await envelope.rewrapAll(rows(), {
 *   save: ({ id }, sealed) => db.query('UPDATE notes SET body = $2 WHERE id = $1', [id, sealed]),
 *   onProgress: (p) => console.log(`${p.seen} seen, ${p.rewrapped} re-wrapped, resume after ${p.resumeAfter}`),
 * });
 */
export interface RewrapAllOptions<Id> {
  /** Stores a re-wrapped envelope in place of the old one. Not called for envelopes already current. */
  save(item: RewrapItem<Id>, rewrapped: SealedEnvelope): void | Promise<void>;
  /** Envelopes in flight at once (default 8). */
  concurrency?: number;
  /** Called every `progressEvery` envelopes and once at the end (also when the run stops on an error). */
  onProgress?(progress: RewrapProgress<Id>): void;
  /** Default 100. */
  progressEvery?: number;
  /** Stops the run after the envelopes in flight; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Failures of one envelope, which the run records and passes; anything else (KEK down, access denied, a failed save) stops it. */
const PER_ENVELOPE: ReadonlySet<KeywardErrorCode> = new Set<KeywardErrorCode>(['DECRYPT_FAILED', 'KEK_DISABLED', 'ENVELOPE_MALFORMED', 'ENVELOPE_VERSION']);

/**
 * Walks `source`, re-wraps each envelope with `rewrapOne` and saves the ones that changed.
 * Idempotent (an envelope already on the newest version is skipped without a write), so running it
 * again after a stop resumes the work; `resumeAfter` lets a source restart past what is done.
 */
export async function rewrapAll<Id>(
  source: Iterable<RewrapItem<Id>> | AsyncIterable<RewrapItem<Id>>,
  rewrapOne: (item: RewrapItem<Id>, signal: AbortSignal | undefined) => Promise<SealedEnvelope>,
  options: RewrapAllOptions<Id>,
): Promise<RewrapSummary<Id>> {
  if (typeof options?.save !== 'function') throw new KeywardError('CONFIG_INVALID', 'rewrapAll needs a save(item, rewrapped) function');
  const concurrency = options.concurrency ?? 8;
  const progressEvery = options.progressEvery ?? 100;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new KeywardError('CONFIG_INVALID', 'rewrapAll concurrency must be an integer from 1 to 256');
  if (!Number.isInteger(progressEvery) || progressEvery < 1) throw new KeywardError('CONFIG_INVALID', 'rewrapAll progressEvery must be a positive integer');
  const iterator = iteratorOf(source);
  const signal = options.signal;

  let seen = 0;
  let rewrapped = 0;
  let alreadyCurrent = 0;
  const failures: Array<{ id: Id; code: KeywardErrorCode }> = [];
  // The in-order watermark: items are numbered as they are read; `resumeAfter` moves over finished ones only.
  let read = 0;
  let watermark = 0;
  const finished = new Map<number, Id>();
  let resumeAfter: Id | undefined;
  let stop: unknown;
  let exhausted = false;

  const progress = (): RewrapSummary<Id> => ({ seen, rewrapped, alreadyCurrent, failed: failures.length, resumeAfter, failures: [...failures] });
  const finish = (index: number, id: Id): void => {
    seen += 1;
    finished.set(index, id);
    while (finished.has(watermark)) {
      resumeAfter = finished.get(watermark);
      finished.delete(watermark);
      watermark += 1;
    }
    if (seen % progressEvery === 0) options.onProgress?.(progress());
  };

  const worker = async (): Promise<void> => {
    while (stop === undefined && !exhausted) {
      if (signal?.aborted) {
        stop ??= signal.reason;
        return;
      }
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const index = read++;
      const item = next.value;
      try {
        const result = await rewrapOne(item, signal);
        if (result === item.envelope) alreadyCurrent += 1;
        else {
          await options.save(item, result);
          rewrapped += 1;
        }
      } catch (err) {
        if (KeywardError.is(err) && PER_ENVELOPE.has(err.code)) failures.push({ id: item.id, code: err.code });
        else {
          stop ??= err;
          return;
        }
      }
      finish(index, item.id);
    }
  };

  await Promise.all(Array.from({ length: concurrency }, worker));
  if (stop !== undefined) await iterator.return?.();
  options.onProgress?.(progress());
  if (stop !== undefined) throw stop;
  return progress();
}

function iteratorOf<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> | Iterator<T> & { next(): IteratorResult<T> } {
  if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  if (source !== null && typeof source === 'object' && Symbol.iterator in source) return (source as Iterable<T>)[Symbol.iterator]();
  throw new KeywardError('CONFIG_INVALID', 'rewrapAll takes an iterable or async iterable of { id, envelope, context }');
}
