import { KeywardError } from '../errors/index.js';

/**
 * `API_KEY_SCOPE`: the key is valid but lacks a scope the route needs. Names the scope, not the key.
 *
 * @example
 * if (err instanceof ApiKeyScopeError) log.warn({ missingScope: err.missingScope, client: err.client });
 */
export class ApiKeyScopeError extends KeywardError {
  readonly missingScope: string;
  readonly client: string;

  constructor(missingScope: string, client: string) {
    super('API_KEY_SCOPE', `the API key lacks the scope ${JSON.stringify(missingScope)}`);
    this.missingScope = missingScope;
    this.client = client;
  }
}
