// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { parseDuration, type Duration } from './duration.js';
export { timestampMs, TIMESTAMP_FORMS } from './timestamp.js';
export { mapWithConcurrency, delay, withJitter, untilAborted, deadlineSignal, watchAbort, unlimitedListeners, MAX_TIMER_MS, type DeadlineSignal } from './concurrency.js';
