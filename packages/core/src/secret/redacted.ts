import { inspect } from 'node:util';

/**
 * Base of everything that stands for a secret: however it is printed (template string,
 * `JSON.stringify`, `util.inspect`, `console.log`), it shows only what `toString()` says.
 *
 * @example
 * class ApiKeyHandle extends Redacted {
 *   toString() { return `[api key ${this.id}]`; }
 * }
 */
export abstract class Redacted {
  abstract toString(): string;

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
