// What this folder offers the rest of @keyward/core (internal helpers included); the public API is ../index.ts.
export { parseDuration, type Duration } from './duration.js';
export { timestampMs, TIMESTAMP_FORMS } from './timestamp.js';
export { mapWithConcurrency, delay, withJitter, untilAborted, MAX_TIMER_MS } from './concurrency.js';
