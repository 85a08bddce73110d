import type { EventEmitter } from 'node:events';

/** Emits one typed event; `true` when it had listeners, like `EventEmitter#emit`. */
export type SafeEmit<Events extends { [E in keyof Events]: unknown[] }> = <E extends keyof Events & string>(event: E, ...args: Events[E]) => boolean;

/**
 * An `emit` for events sent from inside a library's own work (a checkout, a rotation, a login),
 * where a listener's bug must not break that work. Each listener runs on its own, so one that
 * throws (or returns a promise that rejects) neither fails the caller nor skips the listeners
 * after it; its error is reported as a process warning (`KEYWARD_LISTENER_ERROR`), never
 * re-emitted as `'error'`, whose payload each emitter defines. An `'error'` nobody listens to
 * becomes a warning too (`KEYWARD_UNHANDLED_ERROR_EVENT`) instead of a throw. Warnings name the
 * source, the event and the listener's own error; event arguments never reach them.
 *
 * @example
 * class Pool extends EventEmitter<PoolEvents> {
 *   readonly #emit = safeEmit(this, 'connection pool');
 *   #switched(id: number) { this.#emit('generation', { id }); }
 * }
 */
export function safeEmit<Events extends { [E in keyof Events]: unknown[] }>(emitter: EventEmitter<Events>, source: string): SafeEmit<Events> {
  // The untyped view: listeners are called one by one, the way EventEmitter#emit calls them.
  const untyped = emitter as unknown as EventEmitter;
  return (event, ...args) => {
    const listeners = untyped.rawListeners(event);
    if (listeners.length === 0) {
      if (event === 'error') report(`the ${source} emitted 'error' with no 'error' listener`, 'KEYWARD_UNHANDLED_ERROR_EVENT', args[0]);
      return false;
    }
    const listenerThrew = (err: unknown) => report(`a '${event}' listener of the ${source} threw`, 'KEYWARD_LISTENER_ERROR', err);
    for (const listener of listeners) {
      try {
        const result: unknown = listener.apply(emitter, args);
        if (isThenable(result)) result.then(undefined, listenerThrew);
      } catch (err) {
        listenerThrew(err);
      }
    }
    return true;
  };
}

function report(message: string, code: string, err: unknown): void {
  // A string detail: emitWarning refuses an Error from another realm (jest, vm).
  process.emitWarning(message, { code, detail: describe(err) });
}

/** The error's stack, else its text; never throws, whatever was thrown. */
function describe(err: unknown): string {
  try {
    const stack = typeof err === 'object' && err !== null ? (err as { stack?: unknown }).stack : undefined;
    return typeof stack === 'string' && stack !== '' ? stack : String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
