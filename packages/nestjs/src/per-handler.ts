import type { ExecutionContext } from '@nestjs/common';

/**
 * Facts about a route that its decorators fix once the app runs (scopes, a route template, a
 * marker), computed on the first request and kept per controller class and handler: a handler
 * inherited by two controllers may have different facts under each.
 */
export class PerHandler<T> {
  readonly #byController = new WeakMap<object, WeakMap<object, T>>();

  constructor(private readonly compute: (controller: ReturnType<ExecutionContext['getClass']>, handler: ReturnType<ExecutionContext['getHandler']>) => T) {}

  of(context: ExecutionContext): T {
    const controller = context.getClass();
    const handler = context.getHandler();
    let handlers = this.#byController.get(controller);
    if (handlers === undefined) this.#byController.set(controller, (handlers = new WeakMap()));
    let facts = handlers.get(handler);
    if (facts === undefined) {
      facts = this.compute(controller, handler); // a throw (conflicting decorators) is not kept: every request is refused
      handlers.set(handler, facts);
    }
    return facts;
  }
}
