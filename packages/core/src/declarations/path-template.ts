import { KeywardError } from '../errors/index.js';

/** The convention every backend path follows unless a secret says otherwise. */
export const DEFAULT_PATH_TEMPLATE = '{app}/{env}/{name}';

/**
 * Fills `{app}`, `{env}`, `{name}` and any custom variable into a path template.
 * An unknown placeholder is a configuration error, caught before anything is read.
 *
 * @example renderPathTemplate('{app}/{env}/{name}', { app: 'billing', env: 'production', name: 'database' })
 *          // 'billing/production/database'
 */
export function renderPathTemplate(template: string, variables: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    // Own keys only: `{constructor}` must not find Object.prototype.constructor.
    const value = Object.hasOwn(variables, key) ? variables[key] : undefined;
    if (typeof value !== 'string') {
      throw new KeywardError(
        'CONFIG_INVALID',
        `path template "${template}" uses {${key}}, which is not defined (known: ${Object.keys(variables).map((k) => `{${k}}`).join(', ')})`,
      );
    }
    return value;
  });
}
